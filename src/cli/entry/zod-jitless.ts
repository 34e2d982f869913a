/**
 * Turns zod's compiled fast parsers off before any schema exists. zod reads the setting when
 * a schema is made, not when it parses, so this module must be evaluated before the contract's
 * (import it first): a user command checks each schema once or twice, and compiling a parser
 * with `new Function` costs more than the one parse it speeds up (~4 ms for a workspace create).
 */
import { config } from 'zod';

config({ jitless: true });
