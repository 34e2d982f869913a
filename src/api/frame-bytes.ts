/**
 * The bytes of a binary WebSocket message as one Buffer. ws delivers a Buffer it allocated for
 * this message (binaryType 'nodebuffer', the default everywhere berth opens a socket), so it is
 * used as is: copying it again, at hundreds of MiB/s through a forward, doubled the allocations
 * and made most of the receiving process's garbage-collection work.
 */
export function frameBytes(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
