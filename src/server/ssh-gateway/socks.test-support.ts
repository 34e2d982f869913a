/** A minimal SOCKS5 client for tests of `ssh -D`: one CONNECT by host name, no authentication. */
import { connect } from 'node:net';

/** One SOCKS5 CONNECT (no auth) to host:port, sending `data`; resolves to what came back once `want` bytes have or the connection ends. */
export function socks5(proxyPort: number, host: string, port: number, data: Buffer, want: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: proxyPort, allowHalfOpen: true });
    let stage = 0;
    let buf = Buffer.alloc(0);
    const got: Buffer[] = [];
    s.on('connect', () => s.write(Buffer.from([5, 1, 0])));
    s.on('data', (d: Buffer) => {
      if (stage === 2) {
        got.push(d);
        if (Buffer.concat(got).length >= want) {
          s.destroy();
          resolve(Buffer.concat(got));
        }
        return;
      }
      buf = Buffer.concat([buf, d]);
      if (stage === 0 && buf.length >= 2) {
        if (buf[0] !== 5 || buf[1] !== 0) return reject(new Error(`SOCKS greeting refused: ${buf.toString('hex')}`));
        buf = buf.subarray(2);
        stage = 1;
        const h = Buffer.from(host);
        const req = Buffer.concat([Buffer.from([5, 1, 0, 3, h.length]), h, Buffer.from([port >> 8, port & 0xff])]);
        s.write(req);
      }
      if (stage === 1 && buf.length >= 10) {
        if (buf[1] !== 0) return reject(new Error(`SOCKS connect failed with status ${buf[1]}`));
        const rest = buf.subarray(10);
        stage = 2;
        if (rest.length) got.push(rest);
        s.write(data);
      }
    });
    s.on('end', () => resolve(Buffer.concat(got)));
    s.on('error', reject);
  });
}
