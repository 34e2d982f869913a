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

/**
 * ws's `generateMask` for sockets berth's own programs open (the CLI's exec and port-forward
 * sockets, the agent's link): an all-zero mask, which ws then skips on both ends. Masking
 * every byte in JavaScript halved a forward's throughput and was most of the CLI's time for
 * input piped into `ws exec`. Masking exists to keep a browser's script from steering proxies
 * that misread WebSocket traffic as HTTP; these sockets carry no browser's bytes.
 */
export function zeroMask(mask: Buffer): void {
  mask.fill(0);
}
