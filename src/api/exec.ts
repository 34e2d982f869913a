/**
 * Exec streams between a client (CLI, web, SSH gateway) and the server, over a WebSocket at
 * GET /api/v1/workspaces/:name/exec. Data is base64 inside JSON so one frame format serves
 * every side; stdout and stderr stay separate unless a tty merges them.
 */
import { z } from 'zod';
import { apiErrorSchema } from './errors.js';

/** What to run; the same shape travels client → server → agent → provider. */
export const execRequestSchema = z.object({
  cmd: z.array(z.string()).min(1, 'give a command to run'),
  tty: z.boolean().default(false),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'use NAME=VALUE with a shell-style NAME'), z.string()).default({}),
  cwd: z.string().startsWith('/', 'use an absolute path').optional(),
  cols: z.number().int().positive().max(10_000).optional(),
  rows: z.number().int().positive().max(10_000).optional(),
});
export type ExecRequest = z.infer<typeof execRequestSchema>;

/** Client → server frames. The first must be `start`. */
export const execClientFrameSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('start'), request: execRequestSchema }),
  z.object({ type: z.literal('stdin'), data: z.string() }),
  z.object({ type: z.literal('eof') }),
  z.object({ type: z.literal('resize'), cols: z.number().int().positive(), rows: z.number().int().positive() }),
]);
export type ExecClientFrame = z.infer<typeof execClientFrameSchema>;

/** Server → client frames. The stream ends with exactly one `exit` or `error`. */
export const execServerFrameSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('started') }),
  z.object({ type: z.literal('stdout'), data: z.string() }),
  z.object({ type: z.literal('stderr'), data: z.string() }),
  z.object({ type: z.literal('exit'), code: z.number().int() }),
  z.object({ type: z.literal('error'), error: apiErrorSchema }),
]);
export type ExecServerFrame = z.infer<typeof execServerFrameSchema>;
