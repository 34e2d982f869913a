import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BerthError, type Constraint, type PlacementStrategy } from '../../api/index.js';
import { compareNodes, load, type PlacementNode, type PlacementRequest, place, unfit } from './place.js';

const GiB = 1024 ** 3;

function node(name: string, over: Partial<PlacementNode> = {}): PlacementNode {
  return {
    id: `id-${name}`,
    name,
    online: true,
    cordoned: false,
    labels: {},
    providers: [{ kind: 'docker', usable: true, details: {} }],
    resources: { cpus: 4, memoryBytes: 8 * GiB },
    reserved: { cpus: 0, memoryBytes: 0 },
    workspaces: 0,
    image: { ok: true },
    ...over,
  };
}

function req(over: Partial<PlacementRequest> = {}): PlacementRequest {
  return { provider: 'docker', image: 'base', cpus: null, memoryBytes: null, constraints: [], strategy: 'spread', ...over };
}

function thrown(fn: () => unknown): BerthError {
  try {
    fn();
  } catch (err) {
    return err as BerthError;
  }
  throw new Error('expected a throw');
}

describe('place', () => {
  it('skips offline, cordoned, unusable, mismatched, full and image-less nodes', () => {
    const nodes = [
      node('off', { online: false }),
      node('cordoned', { cordoned: true }),
      node('broken', { providers: [{ kind: 'docker', usable: false, reason: 'socket gone', details: {} }] }),
      node('eu', { labels: { zone: 'us' } }),
      node('full', { labels: { zone: 'eu' }, reserved: { cpus: 4, memoryBytes: 0 } }),
      node('noimage', { labels: { zone: 'eu' }, image: { ok: false, code: 'NOT_FOUND', message: 'cannot use image base: not built here' } }),
      node('ok', { labels: { zone: 'eu' }, workspaces: 9 }),
    ];
    expect(place(nodes, req({ cpus: 1, constraints: [{ key: 'zone', op: '=', value: 'eu' }] })).name).toBe('ok');
  });

  it('names every node and why in the no-fit error', () => {
    const err = thrown(() =>
      place(
        [node('a', { online: false }), node('b', { cordoned: true }), node('c', { resources: { cpus: 1, memoryBytes: GiB } })],
        req({ memoryBytes: 2 * GiB }),
      ),
    );
    expect(err.code).toBe('NO_NODE_AVAILABLE');
    expect(err.message).toMatch(/a: offline/);
    expect(err.message).toMatch(/b: cordoned/);
    expect(err.message).toMatch(/c: has too little room: 2 GiB memory asked, 1 GiB of 1 GiB free/);
  });

  it('keeps the code of the closest failure: a missing image is NOT_FOUND, an unusable engine PROVIDER_UNAVAILABLE', () => {
    expect(thrown(() => place([node('a', { image: { ok: false, code: 'NOT_FOUND', message: 'cannot use image x' } })], req())).code).toBe('NOT_FOUND');
    const broken = thrown(() => place([node('a', { providers: [{ kind: 'docker', usable: false, reason: 'socket gone', details: {} }] })], req()));
    expect(broken.code).toBe('PROVIDER_UNAVAILABLE');
    expect(broken.message).toContain('socket gone');
    expect(broken.field).toBe('provider');
  });

  it('honours --node, which must fit too, and reports its problems', () => {
    expect(place([node('a'), node('b', { workspaces: 5 })], req({ node: 'b' })).name).toBe('b');
    expect(() => place([node('a')], req({ node: 'zzz' }))).toThrow(/No node named zzz/);
    expect(thrown(() => place([node('a', { online: false })], req({ node: 'a' }))).code).toBe('NODE_OFFLINE');
    expect(() => place([node('a')], req({ node: 'a', provider: 'lxc' }))).toThrow(/no lxc provider/);
    expect(thrown(() => place([node('a', { cordoned: true })], req({ node: 'a' }))).code).toBe('FAILED_PRECONDITION');
  });

  it('says NO_NODE_AVAILABLE when no node joined', () => {
    expect(thrown(() => place([], req())).code).toBe('NO_NODE_AVAILABLE');
  });

  it('treats k!=v as "absent or another value"', () => {
    const c: Constraint[] = [{ key: 'gpu', op: '!=', value: 'none' }];
    expect(unfit(node('a'), req({ constraints: c }))).toBeNull();
    expect(unfit(node('a', { labels: { gpu: 'a100' } }), req({ constraints: c }))).toBeNull();
    expect(unfit(node('a', { labels: { gpu: 'none' } }), req({ constraints: c }))?.reason).toMatch(/gpu!=none/);
  });

  it('spreads to the least reserved node and binpacks onto the most reserved that fits', () => {
    const a = node('a', { reserved: { cpus: 1, memoryBytes: 0 } });
    const b = node('b', { reserved: { cpus: 3, memoryBytes: 0 } });
    const c = node('c', { reserved: { cpus: 0, memoryBytes: 7 * GiB } });
    expect(place([a, b, c], req()).name).toBe('a');
    expect(place([a, b, c], req({ strategy: 'binpack' })).name).toBe('c');
    // c has only 1 GiB free: binpack takes the next most reserved that fits.
    expect(place([a, b, c], req({ strategy: 'binpack', memoryBytes: 2 * GiB })).name).toBe('b');
  });

  it('spreads equal nodes by workspace count', () => {
    expect(place([node('a', { workspaces: 1 }), node('b')], req()).name).toBe('b');
  });
});

// ---- properties -----------------------------------------------------------------------------

const labelsArb = fc.dictionary(fc.constantFrom('zone', 'gpu', 'disk'), fc.constantFrom('a', 'b', 'c'), { maxKeys: 3 });
const nodeArb = (i: number) =>
  fc
    .record({
      online: fc.boolean(),
      cordoned: fc.boolean(),
      labels: labelsArb,
      usable: fc.boolean(),
      lxc: fc.boolean(),
      cpus: fc.integer({ min: 1, max: 16 }),
      memGiB: fc.integer({ min: 1, max: 32 }),
      reservedCpus: fc.integer({ min: 0, max: 16 }),
      reservedMemGiB: fc.integer({ min: 0, max: 32 }),
      workspaces: fc.integer({ min: 0, max: 20 }),
      image: fc.constantFrom<'ok' | 'missing' | 'unchecked'>('ok', 'ok', 'missing', 'unchecked'),
      reported: fc.boolean(),
    })
    .map(
      (r): PlacementNode => ({
        id: `id${i}`,
        name: `n${i}`,
        online: r.online,
        cordoned: r.cordoned,
        labels: r.labels,
        providers: [{ kind: 'docker', usable: r.usable, details: {} }, ...(r.lxc ? [{ kind: 'lxc' as const, usable: true, details: {} }] : [])],
        resources: r.reported ? { cpus: r.cpus, memoryBytes: r.memGiB * GiB } : null,
        reserved: { cpus: Math.min(r.reservedCpus, r.cpus), memoryBytes: Math.min(r.reservedMemGiB, r.memGiB) * GiB },
        workspaces: r.workspaces,
        image:
          r.image === 'ok' ? { ok: true } : r.image === 'missing' ? { ok: false, code: 'NOT_FOUND', message: 'cannot use image base: not here' } : 'unchecked',
      }),
    );
const nodesArb = fc.integer({ min: 0, max: 6 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => nodeArb(i))));
const constraintArb = fc.record({
  key: fc.constantFrom('zone', 'gpu', 'disk'),
  op: fc.constantFrom<'=' | '!='>('=', '!='),
  value: fc.constantFrom('a', 'b', 'c'),
});
const reqArb = fc.record({
  provider: fc.constantFrom<'docker' | 'lxc'>('docker', 'lxc'),
  image: fc.constant('base'),
  cpus: fc.option(fc.integer({ min: 1, max: 8 }), { nil: null }),
  memoryBytes: fc.option(
    fc.integer({ min: 1, max: 16 }).map((g) => g * GiB),
    { nil: null },
  ),
  constraints: fc.array(constraintArb, { maxLength: 3 }),
  strategy: fc.constantFrom<PlacementStrategy>('spread', 'binpack'),
});

function attempt(nodes: PlacementNode[], r: PlacementRequest): PlacementNode | BerthError {
  try {
    return place(nodes, r);
  } catch (err) {
    if (err instanceof BerthError) return err;
    throw err;
  }
}

describe('place (properties)', () => {
  it('never picks an unfit node, and picks one whenever one fits', () => {
    fc.assert(
      fc.property(nodesArb, reqArb, (nodes, r) => {
        const got = attempt(nodes, r);
        const anyFit = nodes.some((n) => unfit(n, r) === null);
        if (got instanceof BerthError) return !anyFit;
        return unfit(got, r) === null;
      }),
      { numRuns: 2000 },
    );
  });

  it('spread picks a node no more loaded than any other fitting one; binpack one no less loaded', () => {
    fc.assert(
      fc.property(nodesArb, reqArb, (nodes, r) => {
        const got = attempt(nodes, r);
        if (got instanceof BerthError) return true;
        const fit = nodes.filter((n) => unfit(n, r) === null);
        return fit.every((n) => (r.strategy === 'spread' ? load(got) <= load(n) : load(got) >= load(n)) && compareNodes(r.strategy)(got, n) <= 0);
      }),
      { numRuns: 2000 },
    );
  });

  it('the no-fit error names every node', () => {
    fc.assert(
      fc.property(nodesArb, reqArb, (nodes, r) => {
        const got = attempt(nodes, r);
        if (!(got instanceof BerthError)) return true;
        return nodes.every((n) => got.message.includes(`${n.name}: `));
      }),
      { numRuns: 2000 },
    );
  });

  it('an explicit node is chosen exactly when it fits', () => {
    fc.assert(
      fc.property(
        nodesArb.filter((n) => n.length > 0),
        reqArb,
        fc.nat(),
        (nodes, r, pick) => {
          const wanted = nodes[pick % nodes.length];
          const got = attempt(nodes, { ...r, node: wanted.name });
          return unfit(wanted, r) === null ? !(got instanceof BerthError) && got.name === wanted.name : got instanceof BerthError;
        },
      ),
    );
  });
});
