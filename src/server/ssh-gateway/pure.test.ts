/** The gateway's pure rules: terminal sizes, env requests, exit statuses, SFTP paths and listings, editor links. */
import { describe, expect, it } from 'vitest';
import { editorLink, editorLinks } from '../../api/index.js';
import { validTarget } from './forward.js';
import { envAccepted, execArgv, exitStatusOf, MAX_ENV_VARS, termSize } from './requests.js';
import { checkPathText, FX, helperFailure, longName, MAX_SFTP_PATH_BYTES, parseStatLine, resolvePath, type SftpError } from './sftp-paths.js';

describe('session requests', () => {
  it('clamps terminal sizes and defaults zeros', () => {
    expect(termSize(120, 40)).toEqual({ cols: 120, rows: 40 });
    expect(termSize(0, 0)).toEqual({ cols: 80, rows: 24 });
    expect(termSize(4294967295, 99999)).toEqual({ cols: 10000, rows: 10000 });
    expect(termSize(Number.NaN, -1)).toEqual({ cols: 80, rows: 24 });
  });

  it('accepts shell-style env names only, and a bounded number of them', () => {
    expect(envAccepted({}, 'LANG', 'C.UTF-8')).toBe(true);
    expect(envAccepted({}, 'BAD-NAME', 'x')).toBe(false);
    expect(envAccepted({}, '1X', 'x')).toBe(false);
    expect(envAccepted({}, 'X', 'a\0b')).toBe(false);
    expect(envAccepted({}, 'X', 'v'.repeat(40_000))).toBe(false);
    const full = Object.fromEntries(Array.from({ length: MAX_ENV_VARS }, (_, i) => [`V${i}`, '1']));
    expect(envAccepted(full, 'ONE_MORE', '1')).toBe(false);
    expect(envAccepted(full, 'V3', 'replaced')).toBe(true);
  });

  it('passes exit statuses through and maps unknown ones to 255', () => {
    expect(exitStatusOf(0)).toBe(0);
    expect(exitStatusOf(7)).toBe(7);
    expect(exitStatusOf(-1)).toBe(255);
    expect(exitStatusOf(300)).toBe(255);
  });

  it('runs exec commands through sh, the command as an argument', () => {
    const argv = execArgv('echo $HOME; exit 3');
    expect(argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(argv[argv.length - 1]).toBe('echo $HOME; exit 3');
  });

  it('accepts forwarding targets that are host names or addresses with a TCP port', () => {
    expect(validTarget('127.0.0.1', 8080)).toBe(true);
    expect(validTarget('db.internal', 5432)).toBe(true);
    expect(validTarget('::1', 22)).toBe(true);
    expect(validTarget('-e/bin/sh', 80)).toBe(false);
    expect(validTarget('a b', 80)).toBe(false);
    expect(validTarget('localhost', 0)).toBe(false);
    expect(validTarget('localhost', 70000)).toBe(false);
  });
});

describe('SFTP paths and listings', () => {
  it('resolves relative paths against home and folds dots without leaving /', () => {
    expect(resolvePath('/root', '.')).toBe('/root');
    expect(resolvePath('/root', '')).toBe('/root');
    expect(resolvePath('/root', 'a/b/../c/')).toBe('/root/a/c');
    expect(resolvePath('/root', '/tmp//x/./y')).toBe('/tmp/x/y');
    expect(resolvePath('/root', '../../../../etc')).toBe('/etc');
    expect(resolvePath('/root', '/')).toBe('/');
    expect(() => resolvePath('/root', 'a\0b')).toThrow(/NUL/);
  });

  it('always answers an absolute path, so no path can be read as an option by the helper tools', () => {
    for (const p of ['-rf', '--help', '-', '../-n', 'a/../../-x', '%2e%2e/etc', 'é ☃', 'a\nb', '$(id)', '`id`', "'"]) {
      const r = resolvePath('/root', p);
      expect(r.startsWith('/'), p).toBe(true);
    }
    expect(resolvePath('/root', '-rf')).toBe('/root/-rf');
    expect(resolvePath('/root', '%2e%2e')).toBe('/root/%2e%2e');
  });

  it('refuses paths no file system takes: NUL bytes, and more than PATH_MAX bytes', () => {
    expect(() => checkPathText('x'.repeat(MAX_SFTP_PATH_BYTES))).not.toThrow();
    const long = (() => {
      try {
        resolvePath('/root', 'x'.repeat(MAX_SFTP_PATH_BYTES + 1));
      } catch (err) {
        return err as SftpError;
      }
      return null;
    })();
    expect(long).toMatchObject({ status: FX.FAILURE });
    expect(long!.message).toMatch(/too long/);
    // Multi-byte characters count as the bytes they take.
    expect(() => checkPathText('é'.repeat(MAX_SFTP_PATH_BYTES / 2 + 1))).toThrow(/too long/);
    expect(() => checkPathText('target\0')).toThrow(/NUL/);
  });

  it('reads stat -c lines, names with spaces included', () => {
    expect(parseStatLine('81a4 5 0 0 1700000000 1700000001 /root/my file.txt')).toEqual({
      attrs: { mode: 0o100644, size: 5, uid: 0, gid: 0, atime: 1700000000, mtime: 1700000001 },
      name: '/root/my file.txt',
    });
    expect(parseStatLine('stat: cannot stat')).toBeNull();
  });

  it('formats ls -l long names', () => {
    const now = Date.UTC(2024, 0, 10);
    expect(longName('a.txt', { mode: 0o100644, size: 7, uid: 0, gid: 0, atime: 0, mtime: Date.UTC(2024, 0, 2, 3, 4) / 1000 }, now)).toBe(
      '-rw-r--r--    1 0        0               7 Jan  2 03:04 a.txt',
    );
    expect(longName('d', { mode: 0o040755, size: 4096, uid: 1, gid: 2, atime: 0, mtime: Date.UTC(2020, 5, 1) / 1000 }, now)).toMatch(
      /^drwxr-xr-x .* Jun {2}1 {2}2020 d$/,
    );
  });

  it('maps helper failures to SFTP statuses', () => {
    expect(helperFailure(2, 'x: No such file or directory\n').status).toBe(FX.NO_SUCH_FILE);
    expect(helperFailure(3, '').status).toBe(FX.PERMISSION_DENIED);
    expect(helperFailure(1, "mkdir: can't create directory '/x': Permission denied\n").status).toBe(FX.PERMISSION_DENIED);
    const other = helperFailure(4, '/root/a: File exists\n');
    expect(other.status).toBe(FX.FAILURE);
    expect(other.message).toBe('File exists');
  });
});

describe('editor links', () => {
  const w = { workspace: 'demo', host: 'gw.example.com', port: 2222 };
  it('builds VS Code style links through the NAME.berth alias, encoding the path', () => {
    expect(editorLink('vscode', w)).toBe('vscode://vscode-remote/ssh-remote+demo.berth/root');
    expect(editorLink('windsurf', { ...w, path: '/srv/my app' })).toBe('windsurf://vscode-remote/ssh-remote+demo.berth/srv/my%20app');
  });
  it('builds a JetBrains Gateway link with every value URL-encoded', () => {
    expect(editorLink('jetbrains', { ...w, path: '/root/a&b' })).toBe(
      'jetbrains-gateway://connect#type=ssh&deploy=false&host=gw.example.com&port=2222&user=demo&projectPath=%2Froot%2Fa%26b',
    );
    expect(Object.keys(editorLinks(w))).toEqual(['vscode', 'cursor', 'windsurf', 'jetbrains']);
  });
});
