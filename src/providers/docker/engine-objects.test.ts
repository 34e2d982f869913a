import Dockerode from 'dockerode';
import { describe, expect, it } from 'vitest';
import { engineImage } from '../../images/docker-images.js';
import { engineContainer, engineVolume, isEngineName } from './engine-objects.js';

// Building an engine handle makes no request, so no engine is needed here; what the handle
// would put into the request path is its `name` (dockerode's Image) or `id` (Container, Volume).
const docker = new Dockerode({ socketPath: '/nonexistent/docker.sock' });

/** dockerode keeps the (encoded) name it was given, though its types call the field id. */
const nameOf = (image: Dockerode.Image): string => (image as unknown as { name: string }).name;

const HOSTILE = ['../../../etc/passwd', 'x/../../y', 'http://evil/', 'a\0b', 'x?y', 'x#y', '%2e%2e', 'a b', '', '-x', '.x', 'é', 'x'.repeat(300)];

describe('engine names in request paths', () => {
  it('accepts container ids and names and volume names as the engine makes them', () => {
    expect(isEngineName('3f4e5d'.padEnd(64, 'a'))).toBe(true);
    expect(isEngineName('berth-demo-1a2b3c4d')).toBe(true);
    expect(isEngineName('berth-home-6b1c0c8e-2f7a-4c59-9d6e-0d2b4d0c3a11')).toBe(true);
  });

  it('refuses names that would change the request path, before any request', () => {
    for (const bad of HOSTILE) {
      expect(() => engineContainer(docker, bad), JSON.stringify(bad.slice(0, 20))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      expect(() => engineVolume(docker, bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });

  it('percent-encodes what it lets through', () => {
    expect((engineContainer(docker, 'berth-a.b_c') as unknown as { id: string }).id).toBe('berth-a.b_c');
    expect((engineVolume(docker, 'berth-home-x') as unknown as { name: string }).name).toBe('berth-home-x');
  });
});

describe('engineImage', () => {
  it('encodes valid references and image ids so / : @ stay part of the name', () => {
    expect(nameOf(engineImage(docker, 'berth/base:latest'))).toBe('berth%2Fbase%3Alatest');
    expect(nameOf(engineImage(docker, `localhost:5000/a/b@sha256:${'c'.repeat(64)}`))).toBe(`localhost%3A5000%2Fa%2Fb%40sha256%3A${'c'.repeat(64)}`);
    expect(nameOf(engineImage(docker, `sha256:${'0'.repeat(64)}`))).toBe(`sha256%3A${'0'.repeat(64)}`);
  });

  it('refuses anything outside the reference grammar with INVALID_ARGUMENT on field image', () => {
    for (const bad of HOSTILE) {
      expect(() => engineImage(docker, bad), JSON.stringify(bad.slice(0, 20))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'image' }));
    }
  });
});
