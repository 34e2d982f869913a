import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { attachArgv, stripPtyMarker, ttyArgv } from './exec.js';

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const c of stream) out += c.toString();
  return out;
}

describe('lxc exec', () => {
  it('attaches with a clean environment to the named container', () => {
    const argv = attachArgv('/var/lib/lxc', 'c1', {}, { cmd: ['true'], tty: false, env: {} });
    expect(argv.slice(0, 6)).toEqual(['lxc-attach', '-P', '/var/lib/lxc', '-n', 'c1', '--clear-env']);
    expect(argv.slice(-2)).toEqual(['/root', 'true']);
  });

  it('runs lxc-attach under script with a sized pty', () => {
    const argv = ttyArgv(['lxc-attach', '-n', 'c 1'], 100, 40);
    expect(argv.slice(0, 4)).toEqual(['script', '-q', '-e', '-c']);
    expect(argv[4]).toContain('stty -echo -opost cols 100 rows 40');
    expect(argv[4]).toContain("exec lxc-attach -n 'c 1'");
  });

  it('strips the marker line, even split across chunks, and reports the pty', async () => {
    const src = new PassThrough();
    let path: string | null | undefined;
    const out = stripPtyMarker(src, (p) => (path = p));
    src.write('BERTH-PTY /dev/p');
    src.write('ts/3\nhello');
    src.end(' world');
    expect(await text(out)).toBe('hello world');
    expect(path).toBe('/dev/pts/3');
  });

  it('passes everything on when the marker never comes', async () => {
    const src = new PassThrough();
    let path: string | null | undefined;
    const out = stripPtyMarker(src, (p) => (path = p));
    src.end('script: failed\n');
    expect(await text(out)).toBe('script: failed\n');
    expect(path).toBeNull();
  });
});
