import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigDocument } from '../../api/index.js';
import { readConfigFolder, writeConfigFolder } from './folder.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-cfgdir-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const doc: ConfigDocument = {
  revision: 7,
  resources: [
    { kind: 'ServerSettings', name: 'server', spec: {} },
    { kind: 'Node', name: 'pa', spec: { labels: { zone: 'eu' }, cordoned: false } },
    { kind: 'UserQuota', name: 'alice', spec: { workspaces: 2 } },
  ],
};

describe('config folders', () => {
  it('writes one file per resource and the revision, and reads them back the same', async () => {
    const out = join(dir, 'cfg');
    await writeConfigFolder(out, doc);
    expect((await readdir(out)).sort()).toEqual(['.berth-revision', 'nodes', 'quotas', 'server.yaml']);
    expect(await readFile(join(out, 'nodes/pa.yaml'), 'utf8')).toBe('kind: Node\nname: pa\nspec:\n  labels:\n    zone: eu\n  cordoned: false\n');
    const back = await readConfigFolder(out);
    expect(back.revision).toBe(7);
    expect(back.resources).toHaveLength(doc.resources.length);
    expect(back.resources).toEqual(expect.arrayContaining(doc.resources));
    // A second pull replaces the files: a resource gone from the server goes from the folder.
    await writeConfigFolder(out, { revision: 9, resources: doc.resources.slice(0, 2) });
    expect((await readConfigFolder(out)).resources).toHaveLength(2);
  });

  it('refuses to pull into a folder berth did not make, and names both files of a duplicate', async () => {
    await writeFile(join(dir, 'notes.txt'), 'mine');
    await expect(writeConfigFolder(dir, doc)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION' });
    await rm(join(dir, 'notes.txt'));
    await writeConfigFolder(dir, doc);
    await mkdir(join(dir, 'extra'));
    await writeFile(join(dir, 'extra/pa.yml'), 'kind: Node\nname: pa\n');
    await expect(readConfigFolder(dir)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/nodes\/pa\.yaml and .*extra\/pa\.yml both declare Node\/pa/),
    });
  });

  it('names the file, line and field of an invalid one', async () => {
    await writeConfigFolder(dir, doc);
    await writeFile(join(dir, 'quotas/alice.yaml'), 'kind: UserQuota\nname: alice\nspec:\n  workspaces: lots\n');
    await expect(readConfigFolder(dir)).rejects.toMatchObject({
      field: 'spec.workspaces',
      message: expect.stringContaining(`${join(dir, 'quotas/alice.yaml')}:4:15: spec.workspaces:`),
    });
  });
});
