/**
 * Service logs: one timestamped line per output line, rotated at the size limit with three
 * files kept, read back with --tail, --since, --timestamps and --follow.
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, requireBinary, until } from './harness.js';
import { service, sh, SupervisorRoot } from './supervisor-harness.js';

let root: SupervisorRoot;
beforeAll(() => requireBinary());
afterEach(async () => root?.destroy());

describe('berth-in ctl logs', () => {
  it('rotates at the size limit keeping three files, and --tail reads across them', async () => {
    root = await SupervisorRoot.make({ BERTH_IN_LOG_MAX_BYTES: '2000' });
    // 300 numbered lines of about 70 bytes each as stored: ~21 KB, far past three 2 KB files.
    await root.write([service('chatty', sh('i=1; while [ $i -le 300 ]; do echo "line $i"; i=$((i+1)); done'))]);
    root.daemon();
    await root.waitFor('chatty', (s) => s.state === 'completed', 'completed');
    const logs = join(root.dir, 'logs');
    expect(readdirSync(logs).sort()).toEqual(['chatty.log', 'chatty.log.1', 'chatty.log.2']);
    for (const f of readdirSync(logs)) expect(statSync(join(logs, f)).size).toBeLessThanOrEqual(2000);
    const tail = root.run(['ctl', 'logs', 'chatty', '--tail', '5']);
    expect(tail.code, tail.stderr).toBe(0);
    expect(tail.stdout).toBe('line 296\nline 297\nline 298\nline 299\nline 300\n');
    // Everything kept is the newest lines, contiguous and in order, ending with the last.
    const all = root.run(['ctl', 'logs', 'chatty']).stdout.trim().split('\n');
    const numbers = all.map((l) => Number(l.replace('line ', '')));
    expect(numbers.at(-1)).toBe(300);
    expect(numbers.length).toBeGreaterThan(40);
    expect(numbers.length).toBeLessThan(300);
    expect(numbers).toEqual(numbers.map((_, i) => numbers[0] + i));
    expect(root.run(['ctl', 'logs', 'chatty', '--tail=0']).stdout).toBe('');
  });

  it('keeps stdout and stderr apart with timestamps, and --since picks lines by time', async () => {
    root = await SupervisorRoot.make();
    await root.write([service('two', sh('echo first; sleep 0.1; echo oops >&2; sleep 1; echo second; exec sleep 100'))]);
    root.daemon();
    await until('second line', () => root.run(['ctl', 'logs', 'two']).stdout.includes('second'));
    const stamped = root.run(['ctl', 'logs', 'two', '--timestamps']).stdout.trim().split('\n');
    expect(stamped).toHaveLength(3);
    const re = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z) (stdout|stderr) (.*)$/;
    const parsed = stamped.map((l) => l.match(re)!);
    expect(parsed.map((m) => [m[3], m[4]])).toEqual([
      ['stdout', 'first'],
      ['stderr', 'oops'],
      ['stdout', 'second'],
    ]);
    // A time between the bursts: only the second line is at or after it.
    const between = new Date(Date.parse(parsed[1][1]) + 300).toISOString();
    expect(root.run(['ctl', 'logs', 'two', '--since', between]).stdout).toBe('second\n');
    expect(root.run(['ctl', 'logs', 'two', '--since', '1h']).stdout).toBe('first\noops\nsecond\n');
    expect(root.run(['ctl', 'logs', 'two', '--since', '0s']).stdout).toBe('');
    expect(root.run(['ctl', 'logs', 'two', '--since', 'yesterday']).code).toBe(2);
  });

  it('--follow prints new lines as they come and ends when the supervisor does', async () => {
    root = await SupervisorRoot.make();
    await root.write([service('ticker', sh('i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.1; done'))]);
    root.daemon();
    await until('a first tick', () => root.run(['ctl', 'logs', 'ticker']).stdout.includes('tick 0'));
    const follow = spawn(BIN, ['--root', root.dir, 'ctl', 'logs', 'ticker', '--follow', '--tail', '1']);
    let out = '';
    follow.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => follow.once('exit', (c) => r(c)));
    await until('several new ticks', () => out.trim().split('\n').length >= 5);
    const nums = out.trim().split('\n').map((l) => Number(l.replace('tick ', '')));
    expect(nums).toEqual(nums.map((_, i) => nums[0] + i));
    const shut = await root.runAsync(['ctl', 'shutdown']);
    expect(shut.code, shut.stderr).toBe(0);
    expect(await exited).toBe(0);
  });
});
