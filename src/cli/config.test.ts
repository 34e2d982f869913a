import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BerthError } from '../api/index.js';
import { tempHome } from './cli-harness.test-support.js';
import { configPath, readLogin, removeLogin, resolveLogin, writeLogin } from './config.js';

describe('config file location', () => {
  it('uses BERTH_CONFIG, then XDG_CONFIG_HOME, then ~/.config', () => {
    expect(configPath({ env: { BERTH_CONFIG: '/c.json' }, home: '/h' })).toBe('/c.json');
    expect(configPath({ env: { XDG_CONFIG_HOME: '/x' }, home: '/h' })).toBe('/x/berth/config.json');
    expect(configPath({ env: {}, home: '/h' })).toBe('/h/.config/berth/config.json');
  });
});

describe('login file', () => {
  it('is written 0600 in a 0700 directory and read back', async () => {
    const home = tempHome();
    const path = configPath({ env: {}, home });
    await writeLogin(path, { server: 'http://127.0.0.1:7080', token: 'secret' });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, '.config', 'berth')).mode & 0o777).toBe(0o700);
    expect(await readLogin(path)).toEqual({ server: 'http://127.0.0.1:7080', token: 'secret' });
  });

  it('tightens an existing berth directory and replaces an existing file', async () => {
    const home = tempHome();
    const dir = join(home, '.config', 'berth');
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
    const path = join(dir, 'config.json');
    writeFileSync(path, '{}', { mode: 0o644 });
    await writeLogin(path, { server: 'http://a', token: 't' });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ server: 'http://a', token: 't' });
  });

  it('reads nothing when there is no file, and says how to fix a damaged one', async () => {
    const home = tempHome();
    const path = configPath({ env: {}, home });
    expect(await readLogin(path)).toBeUndefined();
    mkdirSync(join(home, '.config', 'berth'), { recursive: true });
    writeFileSync(path, 'not json');
    const err = await readLogin(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).code).toBe('FAILED_PRECONDITION');
    expect((err as BerthError).message).toContain('berth login');
  });

  it('is removed by logout, once', async () => {
    const path = configPath({ env: {}, home: tempHome() });
    await writeLogin(path, { server: 'http://a', token: 't' });
    expect(await removeLogin(path)).toBe(true);
    expect(await removeLogin(path)).toBe(false);
  });
});

describe('resolveLogin', () => {
  const saved = { server: 'http://saved', token: 'saved-token' };

  it('uses the file, with the environment overriding it', () => {
    expect(resolveLogin({}, saved)).toEqual(saved);
    expect(resolveLogin({ BERTH_TOKEN: 'env-token' }, saved)).toEqual({ server: 'http://saved', token: 'env-token' });
    expect(resolveLogin({ BERTH_SERVER: 'http://env', BERTH_TOKEN: 'env-token' }, undefined)).toEqual({ server: 'http://env', token: 'env-token' });
  });

  it('never sends the saved token to a different server', () => {
    const err = (() => {
      try {
        return resolveLogin({ BERTH_SERVER: 'http://elsewhere' }, saved);
      } catch (e) {
        return e;
      }
    })() as BerthError;
    expect(err.code).toBe('UNAUTHENTICATED');
  });

  it('says how to log in when nothing is configured', () => {
    expect(() => resolveLogin({}, undefined)).toThrow(/berth login URL --token T.*BERTH_SERVER and BERTH_TOKEN/);
  });
});
