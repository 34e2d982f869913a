/**
 * Following an operation from the CLI: show progress (unless --json), then succeed with the
 * final operation or fail with its error. Shared by every command that starts a mutation.
 */
import type { ApiError, Operation } from '../api/index.js';
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
    const display = ctx.json ? undefined : createProgressDisplay(ctx.io.stdout, label ?? operationLabel(accepted));
    // Ctrl-C stops watching, not the operation: say so, so nobody thinks it was cancelled.
    const onInterrupt = (): void => {
      display?.stop();
      ctx.io.stderr.write(`\nStopped following operation ${accepted.id}; it continues on the server.\n`);
      process.exit(130);
    };
    process.once('SIGINT', onInterrupt);
    try {
      final = await client.watchOperation(accepted.id, (e) => display?.event(e));
    } finally {
      process.off('SIGINT', onInterrupt);
      display?.stop();
    }
  }
  if (final.status === 'failed') throw new OperationFailedError(final);
  return final;
}

/** Tells a --no-wait user that the operation was accepted and how it can be found again. */
export function acceptedMessage(op: Operation): string {
  return `Accepted ${op.kind} of ${op.target} (operation ${op.id}).\n`;
}

