import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinProviderKindSchema, pluginKindSchema } from '../api/index.js';
import { createNodeBackends } from '../providers/registry.js';
import { checkPluginSources, kindFromSource, loadPlugins, MAX_PLUGINS } from './plugins.js';

let dir = '';
const plugin = (body: string) => `export default { apiVersion: 1, kind: 'fake', ${body} };\n`;
/** A provider whose probe answers `probe`; everything else is never called here. */
const fakeProvider = (probe: string) =>
  `create: () => ({ kind: 'fake', capabilities: {}, probe: ${probe}, list: async () => { throw new Error('list broke'); } })`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-plugins-'));
  await writeFile(join(dir, 'good.mjs'), plugin(fakeProvider("async () => ({ kind: 'fake', usable: true, details: {} })")));
  await writeFile(join(dir, 'throws-on-load.mjs'), "throw new Error('boom at import');\n");
  await writeFile(join(dir, 'old-api.mjs'), "export default { apiVersion: 0, kind: 'old', create: () => ({}) };\n");
  await writeFile(join(dir, 'probe-throws.mjs'), plugin(fakeProvider("async () => { throw new Error('probe exploded'); }")));
  await writeFile(join(dir, 'create-throws.mjs'), plugin("create: () => { throw new Error('no engine here'); }"));
  await writeFile(join(dir, 'not-a-plugin.mjs'), 'export const x = 1;\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The agent's providers for these plugin files: the built-ins, then the plugins. */
async function providersFor(files: string[]) {
  const backends = await createNodeBackends({
    nodeId: 'unit',
    stateDir: join(dir, 'state'),
    cacheDir: join(dir, 'cache'),
    plugins: await loadPlugins(files.map((f) => join(dir, f))),
  });
  // Only the plugins are probed: the built-ins' probes ask the host's engines, which unit tests leave alone.
  return Promise.all(
    backends.providers.map(async (p) => ({ provider: p, info: builtinProviderKindSchema.safeParse(p.kind).success ? { kind: p.kind } : await p.probe() })),
  );
}

describe('plugin loading', () => {
  it('builds a good plugin next to the built-ins and reports where it came from', async () => {
    const all = await providersFor(['good.mjs']);
    expect(all.map((p) => p.provider.kind)).toEqual(['docker', 'lxc', 'qemu', 'fake']);
    expect(all[3].info).toMatchObject({ usable: true, details: { plugin: join(dir, 'good.mjs'), pluginApi: '1' } });
    // A list that throws finds nothing rather than failing the agent's reaper.
    expect(await all[3].provider.list()).toEqual([]);
  });

  it('makes a provider unusable, with the reason, for each way a plugin can fail; never throws', async () => {
    const all = await providersFor(['throws-on-load.mjs', 'old-api.mjs', 'probe-throws.mjs', 'create-throws.mjs', 'not-a-plugin.mjs', 'missing.mjs']);
    const byKind = Object.fromEntries(all.map((p) => [p.info.kind, p.info]));
    expect(byKind['throws-on-load']).toMatchObject({ usable: false, reason: expect.stringContaining('failed to load: boom at import') });
    expect(byKind.old).toMatchObject({ usable: false, reason: expect.stringMatching(/written for plugin API 0 and this agent speaks plugin API 1/) });
    expect(byKind.fake).toMatchObject({ usable: false, reason: expect.stringContaining('failed its probe: probe exploded') });
    // Same kind as the broken-probe plugin: the first one of a kind wins, the second is dropped.
    expect(all.filter((p) => p.info.kind === 'fake')).toHaveLength(1);
    expect(byKind['not-a-plugin']).toMatchObject({ usable: false, reason: expect.stringContaining('does not export a plugin') });
    expect(byKind.missing).toMatchObject({ usable: false, reason: expect.stringContaining('no such file or folder') });
    await expect(all.find((p) => p.info.kind === 'old')!.provider.exec({} as never, {} as never)).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
  });

  it('reports a plugin whose create throws as unusable', async () => {
    const [, , , fake] = await providersFor(['create-throws.mjs']);
    expect(fake.info).toMatchObject({ kind: 'fake', usable: false, reason: expect.stringContaining('failed to start: no engine here') });
  });

  it('bounds the --plugin list', () => {
    expect(() => checkPluginSources(Array.from({ length: MAX_PLUGINS + 1 }, (_, i) => `p${i}`))).toThrow(/at most 16/);
    expect(() => checkPluginSources([''])).toThrow(/Invalid --plugin/);
    expect(checkPluginSources([' ./x.mjs '])).toEqual(['./x.mjs']);
  });
});

describe('kindFromSource', () => {
  it('names a plugin after its file, folder or package', () => {
    expect(kindFromSource('./examples/chroot-provider')).toBe('chroot-provider');
    expect(kindFromSource('/opt/plugins/nspawn/index.mjs')).toBe('nspawn');
    expect(kindFromSource('@acme/berth-provider-firecracker')).toBe('firecracker');
    expect(kindFromSource('./docker.mjs')).toBe('plugin-docker');
    expect(kindFromSource('test/fixtures/throws-on-load.mjs')).toBe('throws-on-load');
  });

  it('always answers a valid kind that is not a built-in', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const kind = kindFromSource(s);
        expect(pluginKindSchema.safeParse(kind).success).toBe(true);
        expect(builtinProviderKindSchema.safeParse(kind).success).toBe(false);
      }),
    );
  });
});
