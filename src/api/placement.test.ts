import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BerthError } from './errors.js';
import { constraintsSchema, isLabelKey, nodeLabelsPostSchema, nodeLabelsSchema, parseConstraint, parseLabelEdit } from './placement.js';

const nameChar = fc.constantFrom(...'abcXYZ019-_.'.split(''));
const alnum = fc.constantFrom(...'abcXYZ019'.split(''));
/** Valid label names: alphanumeric at both ends, 1..63. */
const labelName = fc.oneof(
  alnum,
  fc.tuple(alnum, fc.array(nameChar, { maxLength: 61 }), alnum).map(([a, mid, b]) => a + mid.join('') + b),
);

describe('label keys and values', () => {
  it('accepts Kubernetes-style keys and refuses the rest', () => {
    for (const k of ['gpu', 'zone', 'berth.dev/zone', 'a', 'A-b_c.d', 'x'.repeat(63)]) expect(isLabelKey(k), k).toBe(true);
    for (const k of ['', '-a', 'a-', 'x'.repeat(64), 'a b', 'a/b/c', 'UP.per/x', '/x', 'a/', 'é', 'a=b', 'a\0']) expect(isLabelKey(k), k).toBe(false);
  });

  it('parses k=v and k-', () => {
    expect(parseLabelEdit('zone=eu')).toEqual({ set: true, key: 'zone', value: 'eu' });
    expect(parseLabelEdit('empty=')).toEqual({ set: true, key: 'empty', value: '' });
    expect(parseLabelEdit('zone-')).toEqual({ set: false, key: 'zone' });
    expect(parseLabelEdit('a-b=c-d')).toEqual({ set: true, key: 'a-b', value: 'c-d' });
    for (const bad of ['zone', '=x', 'a=b=c', 'a=-x', 'a=' + 'x'.repeat(64), '-', 'a b=c']) {
      expect(() => parseLabelEdit(bad), bad).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'labels' }));
    }
  });

  it('round-trips every valid k=v, and never throws anything but INVALID_ARGUMENT', () => {
    fc.assert(
      fc.property(labelName, fc.option(labelName, { nil: '' }), (k, v) => {
        const e = parseLabelEdit(`${k}=${v}`);
        return e.set && e.key === k && e.value === v && nodeLabelsSchema.safeParse({ [k]: v }).success;
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => {
        try {
          parseLabelEdit(s);
          parseConstraint(s);
        } catch (err) {
          return err instanceof BerthError && err.code === 'INVALID_ARGUMENT';
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });

  it('bounds the number of labels', () => {
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    expect(nodeLabelsSchema.safeParse(many).success).toBe(false);
    expect(nodeLabelsPostSchema.safeParse({ set: many }).success).toBe(false);
    expect(nodeLabelsPostSchema.safeParse({ set: { 'bad key': 'v' } }).success).toBe(false);
    expect(nodeLabelsPostSchema.safeParse({ other: 1 }).success).toBe(false);
  });
});

describe('constraints', () => {
  it('parses k=v and k!=v', () => {
    expect(parseConstraint('zone=eu')).toEqual({ key: 'zone', op: '=', value: 'eu' });
    expect(parseConstraint('gpu!=none')).toEqual({ key: 'gpu', op: '!=', value: 'none' });
    expect(parseConstraint('gpu!=')).toEqual({ key: 'gpu', op: '!=', value: '' });
    for (const bad of ['zone', '=eu', 'zone==eu', 'zone=!eu', 'a b=c', '!=x', 'zone=e u'])
      expect(() => parseConstraint(bad), bad).toThrow(/Invalid constraint/);
  });

  it('round-trips every valid constraint, and the body schema agrees with the parser', () => {
    fc.assert(
      fc.property(labelName, fc.constantFrom('=', '!='), fc.option(labelName, { nil: '' }), (k, op, v) => {
        const c = parseConstraint(`${k}${op}${v}`);
        return c.key === k && c.op === op && c.value === v && constraintsSchema.safeParse([`${k}${op}${v}`]).success;
      }),
    );
    expect(constraintsSchema.safeParse(['a=b', 'zone']).success).toBe(false);
    expect(constraintsSchema.safeParse(Array.from({ length: 33 }, () => 'a=b')).success).toBe(false);
  });
});
