/**
 * Refusing a channel with a reason the client prints. ssh2's `reject()` always sends an empty
 * description, so while it runs the protocol's channelOpenFail is wrapped to put ours in;
 * `ssh` then shows "open failed: administratively prohibited: <our sentence>".
 */
import type { Connection } from 'ssh2';

/** SSH_MSG_CHANNEL_OPEN_FAILURE reason codes (RFC 4254 §5.1). */
export const OPEN_FAILURE = { administrativelyProhibited: 1, connectFailed: 2, unknownChannelType: 3, resourceShortage: 4 } as const;

type Proto = { channelOpenFail?: (recipient: number, reason: number, description: string) => void };

/** Calls `reject` so that the failure carries `reason` and `description`. */
export function rejectChannel(client: Connection, reject: () => void, reason: number, description: string): void {
  const proto = (client as unknown as { _protocol?: Proto })._protocol;
  const original = proto?.channelOpenFail;
  if (!proto || typeof original !== 'function') return reject();
  proto.channelOpenFail = (recipient) => original.call(proto, recipient, reason, description.slice(0, 500));
  try {
    reject();
  } finally {
    proto.channelOpenFail = original;
  }
}
