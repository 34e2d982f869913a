import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeptResources } from './kept-resources.js';

const resources = { cpus: 4, memoryBytes: 8e9, memoryFreeBytes: 4.5e9, diskBytes: 1e11, diskFreeBytes: 5e10 };

describe('KeptResources', () => {
  it('holds the figures copied in and matches exactly those, under exactly those keys', () => {
    const kept = new KeptResources().set(resources);
    expect({ ...kept }).toEqual(resources);
    expect(JSON.parse(JSON.stringify(kept))).toEqual(resources);
    expect(kept.matches({ ...resources })).toBe(true);
    expect(kept.matches({ ...resources, memoryFreeBytes: 1 })).toBe(false);
    expect(kept.matches({ ...resources, extra: 1 })).toBe(false);
    const { diskFreeBytes: _gone, ...short } = resources;
    expect(kept.matches(short)).toBe(false);
    expect(kept.matches({ ...short, diskFreeBytes: String(resources.diskFreeBytes) })).toBe(false);
    expect(kept.matches(Object.assign(Object.create({ cpus: 4 }), { ...resources }))).toBe(true);
    for (const raw of [null, undefined, 4, 'x', [], [resources]]) expect(kept.matches(raw)).toBe(false);
  });

  it('matches a raw value exactly when its JSON says the same as the kept figures', () => {
    const figure = fc.oneof(fc.nat(), fc.double({ min: 0, max: 1e15, noNaN: true }));
    const res = fc.record({ cpus: fc.nat(64), memoryBytes: figure, memoryFreeBytes: figure, diskBytes: figure, diskFreeBytes: figure });
    fc.assert(
      fc.property(res, fc.oneof(res, fc.jsonValue()), (a, b) => {
        const kept = new KeptResources().set(a);
        const raw = JSON.parse(JSON.stringify(b));
        return kept.matches(raw) === (JSON.stringify(raw) === JSON.stringify(a) || sameFigures(raw, a));
      }),
    );
  });
});

/** Same keys and values whatever their order (JSON text depends on the order). */
function sameFigures(raw: unknown, a: Record<string, number>): boolean {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return false;
  const keys = Object.keys(raw);
  return keys.length === 5 && keys.every((k) => Object.hasOwn(a, k) && (raw as Record<string, unknown>)[k] === a[k]);
}
