/**
 * Lifecycle hooks of a workspace spec, run by the agent as part of the create or start
 * operation: `post_create` once, after the workspace was first made and is running;
 * `post_start` after every start (the create's first start included). Each runs through the
 * provider's exec as the spec's user, in its workdir, with its env. A map form runs its
 * commands side by side and waits for all of them. A failing post_create fails the create
 * (the agent then destroys the workspace, as any failed create); a failing post_start fails
 * the start operation, the workspace itself keeps running.
 */
import { asUser, BerthError, commandArgv, type OpContext, type ProjectSpec, type SpecCommand } from '../../../api/index.js';
import { runToEnd, type WorkspaceExec } from './run-in-workspace.js';

/** The hooks a spec may declare. */
export type HookKind = 'post_create' | 'post_start';

/** One command of a hook: its name in the map form (null for the single form) and argv. */
export interface HookCommand {
  name: string | null;
  argv: string[];
}

/** The commands of a hook, in the spec's order. */
export function hookCommands(hook: SpecCommand | Record<string, SpecCommand> | undefined): HookCommand[] {
  if (hook === undefined) return [];
  if (typeof hook === 'string' || Array.isArray(hook)) return [{ name: null, argv: commandArgv(hook) }];
  return Object.entries(hook).map(([name, cmd]) => ({ name, argv: commandArgv(cmd) }));
}

// The su wrapper is shared with the server's exec and SSH sessions (api/run-as.ts).
export { asUser, shellWord } from '../../../api/run-as.js';

/** Runs one hook's commands side by side; throws FAILED_PRECONDITION (field hooks.KIND) naming the first that failed. */
export async function runHook(kind: HookKind, spec: ProjectSpec, exec: WorkspaceExec, op: OpContext): Promise<void> {
  const commands = hookCommands(spec.hooks?.[kind]);
  if (commands.length === 0) return;
  op.progress(`running ${kind}`, null);
  const results = await Promise.all(
    commands.map(async (c) => {
      const label = c.name === null ? kind : `${kind}.${c.name}`;
      const req = { cmd: asUser(c.argv, spec.user), tty: false, env: spec.env ?? {}, ...(spec.workdir ? { cwd: spec.workdir } : {}) };
      const r = await runToEnd(exec, req, { onLine: (line) => op.log(`${label}: ${line}`), signal: op.signal }).catch((err: unknown) => ({
        code: -1,
        tail: [err instanceof Error ? err.message : String(err)],
      }));
      return { label, ...r };
    }),
  );
  const failed = results.find((r) => r.code !== 0);
  if (!failed) return;
  const last = failed.tail.length ? `; its last output:\n${failed.tail.join('\n')}` : ' with no output';
  const how = failed.code === -1 ? 'could not run' : `exited with code ${failed.code}`;
  const next =
    kind === 'post_create'
      ? 'The workspace was removed; fix the hook in the spec and create it again.'
      : `The workspace is running; fix the hook and run \`berth ws restart\`.`;
  throw new BerthError('FAILED_PRECONDITION', `The ${failed.label} hook ${how}${last}\n${next}`, { field: `hooks.${kind}`, detail: failed.tail.join('\n') });
}
