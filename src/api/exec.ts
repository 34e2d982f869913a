/**
 * Exec streams between a client (CLI, web, SSH gateway) and the server, over a WebSocket at
 * GET /api/v1/workspaces/:name/exec. Control frames are JSON text. Data is base64 inside JSON
 * unless the start frame asks for `binary`: then stdout and stderr come as binary messages
 * whose first byte names the stream (EXEC_BINARY_STDOUT, EXEC_BINARY_STDERR) and stdin may go
 * as binary messages holding only the bytes; base64 and JSON cost the server most of its time
 * for a command with much output. stdout and stderr stay separate unless a tty merges them.
 */
import { z } from 'zod';
import { apiErrorSchema } from './errors.js';
import { terminalIdSchema } from './terminals.js';
import { argSchema, envSchema } from './values.js';

/** Largest terminal dimension, in columns or rows. */
export const MAX_TERMINAL_DIMENSION = 10_000;
/** Most arguments a command may have; far more than any shell line, far less than would stall a node. */
export const MAX_ARGS = 4096;
/** Longest working directory: Linux's PATH_MAX. */
export const MAX_PATH_LENGTH = 4096;

const dimension = z.number().int().positive().max(MAX_TERMINAL_DIMENSION);

/** What to run; the same shape travels client → server → agent → provider. */
export const execRequestSchema = z.object({
  cmd: z
    .array(argSchema)
    .min(1, 'give a command to run')
    .max(MAX_ARGS, `give at most ${MAX_ARGS} arguments`)
    // A command name is a path, so PATH_MAX bounds it anyway. It is also what runc quotes when
    // it cannot run the command, and an error message past its 64 KiB pipe hangs `runc exec`
    // for good, wedging the container (seen with a 66,000-character name and Docker 20.10).
    .refine((cmd) => cmd.length === 0 || cmd[0].length <= MAX_PATH_LENGTH, {
      message: `use a command name of at most ${MAX_PATH_LENGTH} characters`,
      path: [0],
    }),
  tty: z.boolean().default(false),
  env: envSchema.default({}),
  cwd: argSchema.pipe(z.string().max(MAX_PATH_LENGTH, `use at most ${MAX_PATH_LENGTH} characters`).startsWith('/', 'use an absolute path')).optional(),
  cols: dimension.optional(),
  rows: dimension.optional(),
});
export type ExecRequest = z.infer<typeof execRequestSchema>;

/** The WebSocket close code a client sends to end a reattachable session rather than leave it. */
export const EXEC_CLOSE_END = 4000;

/** Client → server frames. The first must be `start`. */
export const execClientFrameSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('start'),
    request: execRequestSchema,
    // Web UI: a terminal that outlives its socket. With an id, the node's agent keeps the
    // session when the socket goes (until idle for the configured limit), and a later start
    // with the same id and user reattaches to it, its recent output replayed first.
    // `readOnly` watches someone's kept terminal (pairing): output only, input refused.
    reattach: z.object({ id: terminalIdSchema, readOnly: z.boolean().optional() }).optional(),
    // Output as binary messages (see above); the web terminal keeps JSON.
    binary: z.boolean().optional(),
  }),
  z.object({ type: z.literal('stdin'), data: z.string() }),
  z.object({ type: z.literal('eof') }),
  z.object({ type: z.literal('resize'), cols: dimension, rows: dimension }),
]);
export type ExecClientFrame = z.infer<typeof execClientFrameSchema>;

/** Server → client frames. The stream ends with exactly one `exit` or `error`. */
export const execServerFrameSchema = z.discriminatedUnion('type', [
  // `binary`: this server took the start frame's `binary`, so stdin may go as binary frames.
  z.object({ type: z.literal('started'), binary: z.boolean().optional() }),
  z.object({ type: z.literal('stdout'), data: z.string() }),
  z.object({ type: z.literal('stderr'), data: z.string() }),
  z.object({ type: z.literal('exit'), code: z.number().int() }),
  z.object({ type: z.literal('error'), error: apiErrorSchema }),
]);
export type ExecServerFrame = z.infer<typeof execServerFrameSchema>;

/** First byte of a binary output message: which stream the rest belongs to. */
export const EXEC_BINARY_STDOUT = 1;
/** First byte of a binary output message carrying stderr. */
export const EXEC_BINARY_STDERR = 2;
