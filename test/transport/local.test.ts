import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LocalTransport } from '../../src/transport/local.js';
import { transportConformance } from './conformance.js';

describe('LocalTransport', () => {
  let transport: LocalTransport;
  let dir: string;

  beforeAll(() => {
    transport = new LocalTransport();
    dir = mkdtempSync(join(tmpdir(), 'berth-local-'));
  });
  afterAll(async () => {
    await transport.close();
    rmSync(dir, { recursive: true, force: true });
  });

  transportConformance(
    () => transport,
    () => dir,
  );

  test('describes itself as local', () => {
    expect(transport.description).toBe('local');
  });

  test('a terminal is UNSUPPORTED, with a way out in the message', async () => {
    await expect(transport.exec({ cmd: ['true'], tty: true })).rejects.toMatchObject({ code: 'UNSUPPORTED', field: 'tty' });
  });

  test('no shell is involved: metacharacters reach the program as they are', async () => {
    const r = await transport.run({ cmd: ['echo', '$HOME', '*', '`id`'] });
    expect(r.stdout).toBe('$HOME * `id`\n');
  });

  test('close() kills what is still running', async () => {
    const t = new LocalTransport();
    const s = await t.exec({ cmd: ['sleep', '30'] });
    s.stdout.resume();
    await t.close();
    expect(await s.wait()).toBe(137);
  });
});
