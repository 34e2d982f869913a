import { describe, expect, it } from 'vitest';
import { toNodeImage } from './docker-images.js';

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
