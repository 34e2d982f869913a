import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { expect, it } from 'vitest';
import { coalesceWrites } from './coalesce.js';

it('sends the writes of one tick as one writev, in order, and later ticks too', async () => {
  const chunks: Buffer[] = [];
  let got!: () => void;
  const all = new Promise<void>((r) => (got = r));
  const server = createServer((s) =>
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      if (Buffer.concat(chunks).length === 12) got();
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const sock: Socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.setNoDelay(true);
  coalesceWrites(sock);
  let writevs = 0;
  const writev = (sock as unknown as { _writev: (...a: unknown[]) => void })._writev;
  (sock as unknown as { _writev: (...a: unknown[]) => void })._writev = function (this: unknown, ...a: unknown[]) {
    writevs++;
    return writev.apply(this, a);
  };
  for (const piece of ['ab', 'cd', 'ef']) sock.write(piece);
  await new Promise((r) => setTimeout(r, 20));
  for (const piece of ['gh', 'ij', 'kl']) sock.write(piece);
  await all;
  expect(Buffer.concat(chunks).toString()).toBe('abcdefghijkl');
  expect(writevs).toBe(2);
  sock.destroy();
  server.close();
});
