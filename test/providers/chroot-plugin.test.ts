/**
 * The example plugin (examples/chroot-provider) against this machine, loaded the way an agent
 * loads it — by the plugin loader, through `berth/plugin` — and held to the same conformance
 * suite as the built-ins, taken from `berth/testing` as a plugin author would. Needs root,
 * util-linux, iproute2, busybox-static, cgroup v1 cpu and memory, and `npm run build` (the
 * package's exports point into dist/); without them these tests fail saying which.
 */
import { randomBytes } from 'node:crypto';
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Provider } from 'berth/plugin';
// As a plugin author imports them: the package's own public entry points, built into dist/.
import { providerConformance } from 'berth/testing';
import { expect, it } from 'vitest';
import { loadPlugins } from '../../src/agent/plugins.js';
import { instantiatePlugin } from '../../src/providers/plugin-api.js';

const EXAMPLE = 'examples/chroot-provider';
const run = randomBytes(3).toString('hex');
let stateDir = '';

/** The example's provider for a node id, built by the agent's loader and the plugin API. */
async function load(nodeId: string): Promise<Provider> {
  const [loaded] = await loadPlugins([EXAMPLE]);
  if (loaded.error) throw new Error(`the example plugin did not load (run \`npm run build\` first: berth/plugin is dist/): ${loaded.error}`);
  const log = { info: () => {}, warn: () => {} };
  return (await instantiatePlugin(loaded.definition, { nodeId, stateDir, cacheDir: stateDir, log }, loaded.fallbackKind, { source: EXAMPLE })) as Provider;
}

/** What of a workspace is left on the node: its folder and its cgroups. */
async function leftovers(workspaceId: string): Promise<string[]> {
  const found: string[] = [];
  const paths = [
    join(stateDir, 'workspaces', workspaceId),
    `/sys/fs/cgroup/cpu/berth-chroot-${workspaceId}`,
    `/sys/fs/cgroup/memory/berth-chroot-${workspaceId}`,
  ];
  for (const p of paths)
    if (
      await access(p).then(
        () => true,
        () => false,
      )
    )
      found.push(p);
  return found;
}

providerConformance('chroot (example plugin)', async () => {
  stateDir = await mkdtemp('/var/tmp/berth-chroot-plugin-');
  const nodeId = `test-node-${run}`;
  return {
    provider: await load(nodeId),
    image: 'busybox',
    missingImage: `berth-missing-${run}`,
    reopen: () => load(nodeId),
    otherNode: () => load(`other-node-${run}`),
    leftovers,
    cleanup: async () => {
      // Every workspace was destroyed by then: the folder holds only empty workspace lists.
      expect(await readdir(join(stateDir, 'workspaces')).catch(() => [])).toEqual([]);
      await rm(stateDir, { recursive: true, force: true });
    },
  };
});

it('reports the plugin it came from in its probe details', async () => {
  stateDir = await mkdtemp('/var/tmp/berth-chroot-plugin-');
  try {
    const info = await (await load(`details-${run}`)).probe();
    expect(info).toMatchObject({ kind: 'chroot', usable: true, details: { plugin: EXAMPLE, pluginApi: '1' } });
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
});
