import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BerthError } from '../api/index.js';
import { AgentState } from './state.js';

const dir = await mkdtemp(join(tmpdir(), 'berth-agent-state-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('agent state', () => {
  it('has no credential before joining, and keeps the one it saved', async () => {
    const state = new AgentState(join(dir, 'fresh'));
    await state.init();
    expect(await state.loadCredential()).toBeNull();
    const saved = { server: 'http://127.0.0.1:7080', nodeId: 'n1', nodeName: 'alpha', credential: 'bnode_x' };
    await state.saveCredential(saved);
    expect(await state.loadCredential()).toEqual(saved);
  });

  it('refuses an unreadable credential file with FAILED_PRECONDITION that says how to recover', async () => {
    const state = new AgentState(join(dir, 'damaged'));
    await state.init();
    await writeFile(join(state.dir, 'credential.json'), '{"server": "half a fi');
    const err = await state.loadCredential().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BerthError);
    expect(err).toMatchObject({ code: 'FAILED_PRECONDITION', field: 'state-dir' });
    expect((err as BerthError).message).toContain(join(state.dir, 'credential.json'));
    expect((err as BerthError).message).toMatch(/remove it and join again/);
  });

  it('refuses a state dir it cannot create with FAILED_PRECONDITION on state-dir', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, '');
    // A directory inside a regular file cannot exist, whoever runs the test (root included).
    const err = await new AgentState(join(file, 'state')).init().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FAILED_PRECONDITION', field: 'state-dir' });
    expect((err as BerthError).message).toMatch(/ENOTDIR.*--state-dir/);
  });
});
