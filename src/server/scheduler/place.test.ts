import { describe, expect, it } from 'vitest';
import type { Node } from '../../api/index.js';
import { placeWorkspace } from './place.js';

function node(name: string, over: Partial<Node> = {}): Node {
  return {
    id: `id-${name}`,
    name,
    status: 'online',
    agentVersion: '0.1.0',
    lastSeenAt: null,
    resources: { cpus: 2, memoryBytes: 8e9, memoryFreeBytes: 4e9, diskBytes: 1e11, diskFreeBytes: 5e10 },
    providers: [{ kind: 'docker', usable: true, details: {} }],
    workspaces: 0,
    createdAt: '',
    ...over,
  };
}

describe('placeWorkspace', () => {
  it('prefers the node with fewer workspaces, then more free memory', () => {
    const a = node('a', { workspaces: 3 });
    const b = node('b', { workspaces: 1 });
    const c = node('c', { workspaces: 1, resources: { ...node('c').resources!, memoryFreeBytes: 9e9 } });
    expect(placeWorkspace([a, b, c], 'docker').name).toBe('c');
  });

  it('skips offline nodes and nodes whose provider is unusable', () => {
    const off = node('off', { status: 'offline' });
    const broken = node('broken', { providers: [{ kind: 'docker', usable: false, reason: 'socket gone', details: {} }] });
    const ok = node('ok', { workspaces: 9 });
    expect(placeWorkspace([off, broken, ok], 'docker').name).toBe('ok');
  });

  it('explains per node why nothing fits', () => {
    const broken = node('broken', { providers: [{ kind: 'docker', usable: false, reason: 'socket gone', details: {} }] });
    const err = (() => {
      try {
        placeWorkspace([broken], 'docker');
      } catch (e) {
        return e as { code: string; message: string; field: string };
      }
    })();
    expect(err?.code).toBe('PROVIDER_UNAVAILABLE');
    expect(err?.message).toContain('socket gone');
    expect(err?.field).toBe('provider');
  });

  it('honours --node and reports its problems', () => {
    expect(placeWorkspace([node('a'), node('b', { workspaces: 5 })], 'docker', 'b').name).toBe('b');
    expect(() => placeWorkspace([node('a')], 'docker', 'zzz')).toThrow(/No node named zzz/);
    expect(() => placeWorkspace([node('a', { status: 'offline' })], 'docker', 'a')).toThrow(/offline/);
    expect(() => placeWorkspace([node('a')], 'lxc', 'a')).toThrow(/no lxc provider/);
  });

  it('says NO_NODE_AVAILABLE when no node joined', () => {
    expect(() => placeWorkspace([], 'docker')).toThrow(expect.objectContaining({ code: 'NO_NODE_AVAILABLE' }));
  });
});
