/** Loading the server and agent entry points on demand, for `berth server` and `berth agent`. */
import { BerthError } from '../../api/index.js';

/** Log levels the server and agent accept (pino's names). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/**
 * Imports an entry module relative to this file. The path is held in a variable so the CLI
 * compiles and its user commands run even in a build that leaves the server or agent out.
 */
export async function loadEntryModule<T>(relativePath: string, what: string): Promise<T> {
  const url = new URL(relativePath, import.meta.url).href;
  try {
    return (await import(url)) as T;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes(relativePath.replace(/^(\.\.\/)+/, ''))) {
      throw new BerthError('INTERNAL', `This build of berth does not include the ${what}; rebuild it with \`npm run build\`.`, { cause: err });
    }
    throw err;
  }
}
