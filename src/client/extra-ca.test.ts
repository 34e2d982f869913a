import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { takeDeferredExtraCaCerts } from '../cli/entry/user-command.js';
import { deferExtraCaCerts, tlsTrust } from './extra-ca.js';

const dir = await mkdtemp(join(tmpdir(), 'berth-extra-ca-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('deferred NODE_EXTRA_CA_CERTS', () => {
  it('leaves plain HTTP alone and lets a pinned CA replace every root', async () => {
    deferExtraCaCerts(join(dir, 'never-read.pem'));
    expect(await tlsTrust('http://127.0.0.1:1', 'PINNED')).toEqual({});
    expect(await tlsTrust('ws://127.0.0.1:1', undefined)).toEqual({});
    expect(await tlsTrust('https://h', 'PINNED')).toEqual({ ca: 'PINNED', rejectUnauthorized: true });
    expect(await tlsTrust('wss://h', 'PINNED')).toEqual({ ca: 'PINNED', rejectUnauthorized: true });
  });

  it("adds the file's certificates to Node's bundled roots for https and wss without a pin", async () => {
    const file = join(dir, 'extra.pem');
    await writeFile(file, 'EXTRA PEM');
    deferExtraCaCerts(file);
    const { ca } = await tlsTrust('https://h', undefined);
    expect(ca).toEqual([...rootCertificates, 'EXTRA PEM']);
    expect((await tlsTrust('wss://h', undefined)).ca).toBe(ca);
  });

  it("keeps Node's defaults when the file cannot be read, and warns as Node does", async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      deferExtraCaCerts(join(dir, 'missing.pem'));
      expect(await tlsTrust('https://h', undefined)).toEqual({});
      expect(warn).toHaveBeenCalledWith(expect.stringContaining(`Ignoring extra certs from \`${join(dir, 'missing.pem')}\``));
    } finally {
      warn.mockRestore();
    }
  });

  it('takes the path bin/berth moved aside and puts NODE_EXTRA_CA_CERTS back for child processes', async () => {
    const file = join(dir, 'back.pem');
    await writeFile(file, 'BACK');
    const env: NodeJS.ProcessEnv = { BERTH_NODE_EXTRA_CA_CERTS: file, OTHER: '1' };
    takeDeferredExtraCaCerts(env);
    expect(env).toEqual({ NODE_EXTRA_CA_CERTS: file, OTHER: '1' });
    expect((await tlsTrust('https://h', undefined)).ca).toContain('BACK');
    const untouched: NodeJS.ProcessEnv = { NODE_EXTRA_CA_CERTS: '/x' };
    takeDeferredExtraCaCerts(untouched);
    expect(untouched).toEqual({ NODE_EXTRA_CA_CERTS: '/x' });
  });
});
