import { describe, expect, it } from 'vitest';
import { BLOCK_BEGIN, BLOCK_END, hasManagedHost, renderManagedBlock, shellWord, upsertManagedBlock } from './ssh-config.js';

const target = {
  host: '127.0.0.1',
  port: 2222,
  identityFile: '/home/u/.ssh/berth_ed25519',
  knownHostsFile: '/home/u/.config/berth/known_hosts',
  berthCommand: "'/usr/bin/node' /opt/berth/bin/berth",
  server: 'http://127.0.0.1:7080',
};

describe('ssh config block', () => {
  it('renders one Host entry per workspace with a ProxyCommand through berth ssh --stdio', () => {
    const block = renderManagedBlock(['web', 'api'], target);
    expect(block.startsWith(BLOCK_BEGIN + '\n')).toBe(true);
    expect(block.endsWith(BLOCK_END + '\n')).toBe(true);
    expect(block).toContain('Host api.berth\n  HostName 127.0.0.1\n  Port 2222\n  User api\n');
    expect(block).toContain("  ProxyCommand '/usr/bin/node' /opt/berth/bin/berth ssh --stdio web\n");
    expect(block.indexOf('Host api.berth')).toBeLessThan(block.indexOf('Host web.berth'));
    expect(block).toContain('Host *\n' + BLOCK_END);
    // AES-GCM first: OpenSSH's own order would pick the gateway's slower aes128-ctr + HMAC.
    expect(block).toContain('  Ciphers aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr,');
  });

  it('quotes paths with spaces and doubles % in ProxyCommand', () => {
    const block = renderManagedBlock(['a'], { ...target, identityFile: '/home/my user/k', berthCommand: '/opt/100%/berth' });
    expect(block).toContain('  IdentityFile "/home/my user/k"\n');
    expect(block).toContain('  ProxyCommand /opt/100%%/berth ssh --stdio a\n');
  });

  it('puts the block first in a file without one and keeps every user line', () => {
    const user = 'ServerAliveInterval 30\n\nHost github.com\n  User git\n';
    const out = upsertManagedBlock(user, renderManagedBlock(['a'], target));
    expect(out.startsWith(BLOCK_BEGIN)).toBe(true);
    expect(out.endsWith(user)).toBe(true);
  });

  it('replaces only the old block when run again, byte for byte outside it', () => {
    const top = '# mine\nHost x\n  User y';
    const bottom = 'Host z\n  Port 2200\n';
    const first = `${top}\n${renderManagedBlock(['a'], target)}${bottom}`;
    const second = upsertManagedBlock(first, renderManagedBlock(['a', 'b'], target));
    expect(second).toBe(`${top}\n${renderManagedBlock(['a', 'b'], target)}${bottom}`);
    expect(upsertManagedBlock(second, renderManagedBlock(['a', 'b'], target))).toBe(second);
    expect(hasManagedHost(second, 'b.berth')).toBe(true);
    expect(hasManagedHost(top, 'b.berth')).toBe(false);
  });

  it('writes into an empty file and refuses a damaged block', () => {
    expect(upsertManagedBlock('', renderManagedBlock([], target))).toBe(renderManagedBlock([], target));
    expect(() => upsertManagedBlock(`${BLOCK_BEGIN}\nHost a\n`, 'x')).toThrow(/without/);
    expect(() => upsertManagedBlock(`Host a\n${BLOCK_END}\n`, 'x')).toThrow(/stray/);
  });

  it('quotes shell words only when needed', () => {
    expect(shellWord('/usr/bin/node')).toBe('/usr/bin/node');
    expect(shellWord("/a b/it's")).toBe("'/a b/it'\\''s'");
  });
});
