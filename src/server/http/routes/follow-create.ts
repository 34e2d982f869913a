/**
 * POST /workspaces as one streamed answer: the workspace is created, the operation's events
 * follow on the same response, and the last line carries the final operation and workspace.
 * A CLI that waits for its workspace to run needs one request instead of three.
 */
import type { User, WorkspaceCreateBody, WorkspaceCreateEvent } from '../../../api/index.js';
import type { Services } from '../../services/index.js';

/** Creates the workspace and writes its create events until the operation is done or the caller leaves. */
export async function followCreate(
  s: Services,
  user: User,
  body: WorkspaceCreateBody,
  write: (e: WorkspaceCreateEvent) => void,
  closed: Promise<void>,
): Promise<void> {
  const accepted = await s.workspaces.create(user, body);
  write({ type: 'accepted', ...accepted });
  let stop: (() => void) | undefined;
  let leftEarly = false;
  await new Promise<void>((resolve) => {
    void closed.then(() => {
      leftEarly = true;
      resolve();
    });
    void s.ops
      .watch(accepted.operation.id, (e) => {
        if (e.type !== 'done') return write(e);
        // The workspace as it is now: running, or gone when the create failed.
        void (e.operation.status === 'succeeded' ? s.workspaces.get(user, body.name).catch(() => null) : Promise.resolve(null)).then((workspace) => {
          if (!leftEarly) write({ type: 'done', operation: e.operation, workspace });
          resolve();
        });
      })
      .then(
        (unsubscribe) => {
          stop = unsubscribe;
        },
        () => resolve(),
      );
  });
  stop?.();
}
