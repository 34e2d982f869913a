/**
 * Following an operation from the CLI: show progress (unless --json), then succeed with the
 * final operation or fail with its error. Shared by every command that starts a mutation.
 */
import type { ApiError, Operation, OperationEvent } from '../api/index.js';
import type { BerthClient } from '../client/index.js';
import type { CliContext } from './context.js';
import { createProgressDisplay, operationLabel } from './output/progress.js';

/** Thrown when an operation finished as failed; the CLI prints the operation's error and exits with its code's status. */
export class OperationFailedError extends Error {
  readonly error: ApiError;
  constructor(readonly operation: Operation) {
    const error = operation.error ?? { code: 'INTERNAL' as const, message: `Operation ${operation.id} failed without saying why.` };
    super(error.message);
    this.name = 'OperationFailedError';
    this.error = error;
  }
}

/** Waits for an operation while showing its progress; returns it when it succeeded, throws OperationFailedError when not. */
export async function followOperation(ctx: CliContext, client: BerthClient, accepted: Operation, label?: string): Promise<Operation> {
  let final = accepted;
  if (accepted.status === 'running') {
    final = await withProgress(ctx, label ?? operationLabel(accepted), (onEvent) => client.watchOperation(accepted.id, onEvent), accepted.id);
  }
  if (final.status === 'failed') throw new OperationFailedError(final);
  return final;
}

/**
 * Runs `watch` while showing the events it hears (unless --json). Ctrl-C stops watching, not
 * the operation, and says so, naming the operation (`operationId`, or the one `watch` reports
 * through its second argument as soon as it knows it).
 */
export async function withProgress<T>(
  ctx: CliContext,
  label: string,
  watch: (onEvent: (e: OperationEvent) => void, onOperation: (op: Operation) => void) => Promise<T>,
  operationId?: string,
): Promise<T> {
  let id = operationId;
  const display = ctx.json ? undefined : createProgressDisplay(ctx.io.stdout, label);
  const onInterrupt = (): void => {
    display?.stop();
    ctx.io.stderr.write(
      id ? `\nStopped following operation ${id}; it continues on the server.\n` : '\nStopped waiting; the server may still carry out the request.\n',
    );
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  try {
    return await watch(
      (e) => display?.event(e),
      (op) => {
        id = op.id;
      },
    );
  } finally {
    process.off('SIGINT', onInterrupt);
    display?.stop();
  }
}

/** Tells a --no-wait user that the operation was accepted and how it can be found again. */
export function acceptedMessage(op: Operation): string {
  return `Accepted ${op.kind} of ${op.target} (operation ${op.id}).\n`;
}
