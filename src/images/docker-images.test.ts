import type Dockerode from 'dockerode';
import { describe, expect, it } from 'vitest';
import { recordingOp } from '../testing/recording-op.js';
import { imageExists, isEngineReference, pullImage, toNodeImage } from './docker-images.js';

const labels = { 'berth.image': 'dev', 'berth.image.from': 'busybox', 'berth.image.packages': '', 'berth.managed': 'true' };

describe('toNodeImage', () => {
  it('reads a berth image from engine fields', () => {
    expect(toNodeImage({ Id: 'sha256:1', RepoTags: ['berth/dev:latest'], Labels: labels, Size: 2000, Created: 1_700_000_000 })).toEqual({
      name: 'dev',
      ref: 'berth/dev:latest',
      from: 'busybox',
      packages: [],
      sizeBytes: 2000,
      createdAt: '2023-11-14T22:13:20.000Z',
    });
  });

  it('ignores unlabelled images and old builds whose tag moved on', () => {
    expect(toNodeImage({ Id: 'sha256:1', RepoTags: ['debian:bookworm'], Labels: {}, Size: 1, Created: 0 })).toBeNull();
    expect(toNodeImage({ Id: 'sha256:2', RepoTags: ['<none>:<none>'], Labels: labels, Size: 1, Created: 0 })).toBeNull();
  });
});

describe('isEngineReference', () => {
  it('takes Docker references and image ids', () => {
    for (const ref of [
      'busybox',
      'busybox:latest',
      'berth/base:latest',
      'debian:bookworm-slim',
      'localhost:5000/team/app:v1.2',
      'registry.example.com/a/b',
      `alpine@sha256:${'a'.repeat(64)}`,
      'sha256:' + 'f'.repeat(64),
      'abcdef012345',
      'my_app__x-y.z',
    ]) {
      expect(isEngineReference(ref), ref).toBe(true);
    }
  });

  it('refuses what is not one: traversal, spaces, query and fragment characters, upper case paths, NUL', () => {
    for (const ref of [
      '../../../etc/passwd',
      '..',
      'a/../b',
      '/etc/passwd',
      'a b',
      'x\u0000y',
      '?a',
      '#',
      '%',
      'é',
      'Busybox',
      'a:',
      'a:-x',
      '',
      'a//b',
      'a/',
      `${'a'.repeat(256)}`,
    ]) {
      expect(isEngineReference(ref), JSON.stringify(ref)).toBe(false);
    }
  });
});

describe('imageExists and pullImage', () => {
  it('refuse a non-reference with INVALID_ARGUMENT before it reaches the engine', async () => {
    const engine = {
      getImage: () => {
        throw new Error('the engine was asked');
      },
      pull: () => {
        throw new Error('the engine was asked');
      },
    } as unknown as Dockerode;
    await expect(imageExists(engine, '../../../etc/passwd')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'image' });
    const op = recordingOp();
    await expect(pullImage(engine, 'a b', op)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', field: 'image' });
  });
});
