import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentConfig, LAUNCHER_PATH, LAUNCHER_SCRIPT, SYSTEMD_UNIT, UNIT_NAME } from './layout.js';

describe('what node add installs', () => {
  it('the launcher is valid POSIX sh', () => {
    const r = spawnSync('sh', ['-n'], { input: LAUNCHER_SCRIPT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });

  it('the systemd unit passes systemd-analyze verify without a warning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-unit-'));
    try {
      // The launcher is not installed here; any executable stands in for it.
      writeFileSync(join(dir, UNIT_NAME), SYSTEMD_UNIT.replace(LAUNCHER_PATH, '/bin/true'));
      const r = spawnSync('systemd-analyze', ['verify', join(dir, UNIT_NAME)], { encoding: 'utf8' });
      expect(r.error, 'systemd-analyze is missing: apt-get install -y systemd').toBeUndefined();
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the settings file quotes what it is given, so sourcing it runs nothing', () => {
    const text = agentConfig({ serverUrl: "http://h:1/$(touch /tmp/x)'", name: 'n1' });
    const r = spawnSync('sh', ['-c', `${text}\nprintf '%s|%s' "$BERTH_SERVER" "$BERTH_NODE_NAME"`], { encoding: 'utf8' });
    expect(r.stdout).toBe("http://h:1/$(touch /tmp/x)'|n1");
  });
});
