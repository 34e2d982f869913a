import { describe, expect, it } from 'vitest';
import { BerthError } from '../api/index.js';
import {
  berthImageRef,
  imageLabels,
  importChanges,
  isPlainImageName,
  parseImageLabels,
  parseImageSource,
  rootfsCacheKey,
  validateImageRequest,
} from './naming.js';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).code).toBe('INVALID_ARGUMENT');
    return (err as BerthError).field;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('image naming', () => {
  it('maps names to berth tags and tells names from references', () => {
    expect(berthImageRef('base')).toBe('berth/base:latest');
    expect(isPlainImageName('base')).toBe(true);
    expect(isPlainImageName('debian:bookworm')).toBe(false);
    expect(isPlainImageName('berth/base:latest')).toBe(false);
  });

  it('parses sources and rejects others on field from', () => {
    expect(parseImageSource('busybox')).toEqual({ kind: 'busybox' });
    expect(parseImageSource('debian:trixie')).toEqual({ kind: 'debian', suite: 'trixie' });
    for (const bad of ['alpine', 'debian', 'debian:', 'debian:Bookworm', 'ubuntu:jammy']) expect(fieldOf(() => parseImageSource(bad))).toBe('from');
  });

  it('validates requests and normalises packages', () => {
    expect(validateImageRequest({ name: 'dev', from: 'debian:bookworm', packages: ['git', 'curl', 'git'] }).packages).toEqual(['curl', 'git']);
    expect(fieldOf(() => validateImageRequest({ name: 'Dev', from: 'busybox', packages: [] }))).toBe('name');
    expect(fieldOf(() => validateImageRequest({ name: 'dev', from: 'busybox', packages: ['git'] }))).toBe('packages');
    expect(fieldOf(() => validateImageRequest({ name: 'dev', from: 'debian:bookworm', packages: ['rm -rf'] }))).toBe('packages');
  });

  it('round-trips labels and ignores images that are not berth-managed', () => {
    const labels = imageLabels(validateImageRequest({ name: 'dev', from: 'debian:bookworm', packages: ['vim', 'git'] }));
    expect(labels).toEqual({ 'berth.image': 'dev', 'berth.image.from': 'debian:bookworm', 'berth.image.packages': 'git,vim', 'berth.managed': 'true' });
    expect(parseImageLabels(labels)).toEqual({ name: 'dev', from: 'debian:bookworm', packages: ['git', 'vim'] });
    expect(parseImageLabels({ 'berth.image': 'dev' })).toBeNull();
    expect(parseImageLabels(null)).toBeNull();
  });

  it('writes import changes with PATH, CMD and quoted labels', () => {
    const changes = importChanges({ 'berth.image': 'dev', 'berth.image.packages': '' });
    expect(changes[0]).toMatch(/^ENV PATH=.*\/bin/);
    expect(changes[1]).toBe('CMD ["/bin/sh"]');
    expect(changes[2]).toBe('LABEL berth.image="dev" berth.image.packages=""');
  });

  it('keys the rootfs cache by suite and the sorted package set', () => {
    expect(rootfsCacheKey('bookworm', [])).toBe('debian-bookworm-minbase');
    expect(rootfsCacheKey('bookworm', ['b', 'a'])).toBe(rootfsCacheKey('bookworm', ['a', 'b', 'a']));
    expect(rootfsCacheKey('bookworm', ['a'])).not.toBe(rootfsCacheKey('bookworm', ['b']));
    expect(rootfsCacheKey('trixie', ['a'])).toMatch(/^debian-trixie-minbase-[0-9a-f]{16}$/);
  });
});
