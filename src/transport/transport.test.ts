import { describe, expect, it } from 'vitest';
import { LocalTransport } from './local.js';
import { remoteCommand } from './shell-quote.js';
import { type ExecParams, validateExecParams } from './transport.js';

/** The error validateExecParams throws for these params, or null. */
function refusal(p: ExecParams): { code: string; field?: string } | null {
  try {
    validateExecParams(p);
    return null;
  } catch (err) {
    return err as { code: string; field?: string };
  }
}

describe('validateExecParams', () => {
  it('accepts ordinary commands, shell metacharacters and unicode included', () => {
    expect(refusal({ cmd: ['sh', '-c', 'echo "$X" $(id) `id` ; rm -rf /tmp/x'], env: { X: 'é ☃\n' }, cwd: '/tmp/a b' })).toBeNull();
  });

  it('refuses an empty argv, bad environment names, relative cwd and NUL bytes anywhere', () => {
    expect(refusal({ cmd: [] })).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'cmd' });
    expect(refusal({ cmd: [''] })).toMatchObject({ field: 'cmd' });
    expect(refusal({ cmd: ['echo', 'a\0b'] })).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'cmd' });
    expect(refusal({ cmd: ['echo'], env: { 'A B': '1' } })).toMatchObject({ field: 'env' });
    expect(refusal({ cmd: ['echo'], env: { 'X;rm': '1' } })).toMatchObject({ field: 'env' });
    expect(refusal({ cmd: ['echo'], env: { X: 'a\0b' } })).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'env' });
    expect(refusal({ cmd: ['echo'], cwd: 'tmp' })).toMatchObject({ field: 'cwd' });
    expect(refusal({ cmd: ['echo'], cwd: '/tmp\0/x' })).toMatchObject({ field: 'cwd' });
  });

  it('keeps a NUL from reaching a process through the local transport', async () => {
    const local = new LocalTransport();
    await expect(local.run({ cmd: ['printf', '%s', 'a\0b'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'cmd' });
  });

  it('a remote command line built from hostile arguments runs exactly that argv in a real sh', async () => {
    const local = new LocalTransport();
    const hostile = ["'; touch /tmp/berth-pwned; '", '$(id)', '`id`', '../../../etc/passwd', '%2e%2e', 'a b', '-rf', '#x', '?'];
    const line = remoteCommand({ cmd: ['printf', '%s\\n', ...hostile], cwd: '/tmp', env: { V: "x'$(id)" } });
    const r = await local.run({ cmd: ['/bin/sh', '-c', line] });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(hostile.map((h) => `${h}\n`).join(''));
  });
});
