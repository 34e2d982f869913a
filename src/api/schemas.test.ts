/** Request bodies and wire frames: every string, array and number is bounded, and hostile input is refused with the field named. */
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { agentMethods, workspaceSpecSchema } from './agent-protocol.js';
import { fromZodError } from './errors.js';
import { execClientFrameSchema, execRequestSchema } from './exec.js';
import { imagesPostSchema, joinTokensPostSchema, nodesJoinPostSchema, workspaceStopPostSchema, workspacesPostSchema } from './resources.js';
import { invitesPostSchema, registerPostSchema, sshKeysPostSchema, tokensPostSchema, userDeleteSchema } from './users.js';

/** The INVALID_ARGUMENT a body gets, as the HTTP edge would answer it; null when it is accepted. */
function refusal(schema: z.ZodType, body: unknown): { code: string; field?: string; message: string } | null {
  const r = schema.safeParse(body);
  return r.success ? null : fromZodError(r.error);
}

describe('POST /workspaces', () => {
  it('accepts what the CLI sends', () => {
    expect(refusal(workspacesPostSchema, { name: 'x1' })).toBeNull();
    expect(refusal(workspacesPostSchema, { name: 'x1', provider: 'lxc', image: 'base', node: 'n1', cpus: 0.5, memory: '512m' })).toBeNull();
    expect(refusal(workspacesPostSchema, { name: 'x1', image: 'debian:bookworm' })).toBeNull();
  });

  it('refuses hostile images with field image', () => {
    for (const image of ['../../../etc/passwd', 'x/../../y', 'http://evil/', 'a\0b', 'x'.repeat(5000), '%2e%2e', 'x?y', 'x#y', 'a b', 'Ubuntu', '']) {
      expect(refusal(workspacesPostSchema, { name: 'x1', image }), JSON.stringify(image.slice(0, 20))).toMatchObject({
        code: 'INVALID_ARGUMENT',
        field: 'image',
      });
    }
  });

  it('bounds numbers and strings, and names unknown keys as the field at fault', () => {
    for (const cpus of [0, -1, 1025, Infinity, Number.NaN, '2'])
      expect(refusal(workspacesPostSchema, { name: 'x1', cpus }), String(cpus)).toMatchObject({ field: 'cpus' });
    expect(refusal(workspacesPostSchema, { name: 'x1', memory: '9'.repeat(100) })).toMatchObject({ field: 'memory' });
    expect(refusal(workspacesPostSchema, { name: 'x'.repeat(64) })).toMatchObject({ field: 'name' });
    expect(refusal(workspacesPostSchema, { name: 'x1', memroy: '2g' })).toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'memroy',
      message: expect.stringMatching(/Unknown field memroy/),
    });
    expect(refusal(workspacesPostSchema, { name: 'x1', env: { A: '1' } })).toMatchObject({ field: 'env' });
    expect(refusal(workspaceStopPostSchema, { timeoutSeconds: 1.5 })).toMatchObject({ field: 'timeoutSeconds' });
    expect(refusal(workspaceStopPostSchema, { timeout: 5 })).toMatchObject({ field: 'timeout' });
  });
});

describe('POST /images', () => {
  it('bounds names, sources and packages', () => {
    expect(refusal(imagesPostSchema, { name: 'dev', from: 'debian:bookworm', packages: ['git', 'g++', 'libc6.1-dev'] })).toBeNull();
    expect(refusal(imagesPostSchema, { name: '../x', from: 'busybox' })).toMatchObject({ field: 'name' });
    expect(refusal(imagesPostSchema, { name: 'dev', from: `debian:${'b'.repeat(33)}` })).toMatchObject({ field: 'from' });
    expect(refusal(imagesPostSchema, { name: 'dev', from: 'debian:../../x' })).toMatchObject({ field: 'from' });
    expect(refusal(imagesPostSchema, { name: 'dev', from: 'busybox', packages: ['a'.repeat(129)] })).toMatchObject({ field: 'packages.0' });
    expect(refusal(imagesPostSchema, { name: 'dev', from: 'busybox', packages: ['--force-yes'] })).toMatchObject({ field: 'packages.0' });
    expect(refusal(imagesPostSchema, { name: 'dev', from: 'busybox', packages: ['a,b'] })).toMatchObject({ field: 'packages.0' });
    expect(refusal(imagesPostSchema, { name: 'dev', from: 'busybox', packages: Array.from({ length: 201 }, (_, i) => `p${i}`) })).toMatchObject({
      field: 'packages',
    });
    expect(refusal(imagesPostSchema, { name: 'dev', from: 'busybox', script: 'rm -rf /' })).toMatchObject({ field: 'script' });
  });
});

describe('other bodies', () => {
  it('bounds tokens, invites and counts', () => {
    expect(refusal(nodesJoinPostSchema, { token: 'x'.repeat(513), name: 'n1' })).toMatchObject({ field: 'token' });
    expect(refusal(registerPostSchema, { invite: 'x'.repeat(513), name: 'dev' })).toMatchObject({ field: 'invite' });
    expect(refusal(joinTokensPostSchema, { ttlSeconds: 1e12 })).toMatchObject({ field: 'ttlSeconds' });
    expect(refusal(joinTokensPostSchema, { ttlSeconds: 60.5 })).toMatchObject({ field: 'ttlSeconds' });
    expect(refusal(invitesPostSchema, { email: 'a@b', role: 'root' })).toMatchObject({ field: 'role' });
    expect(refusal(tokensPostSchema, { name: 'ci', admin: true })).toMatchObject({ field: 'admin' });
    expect(refusal(sshKeysPostSchema, { name: 'k', publicKey: 'ssh-ed25519 AAAA', extra: 1 })).toMatchObject({ field: expect.any(String) });
    expect(refusal(userDeleteSchema, { workspaces: 'transfer', transferTo: '../x' })).toMatchObject({ field: 'transferTo' });
  });
});

describe('exec', () => {
  it('refuses NUL bytes and unbounded argv, env and cwd', () => {
    expect(refusal(execRequestSchema, { cmd: ['sh', '-c', 'echo "$(id)"'], env: { A_1: 'x y' }, cwd: '/tmp/a b' })).toBeNull();
    expect(refusal(execRequestSchema, { cmd: ['echo', 'a\0b'] })).toMatchObject({ field: 'cmd.1' });
    expect(refusal(execRequestSchema, { cmd: ['echo'], env: { A: 'a\0b' } })).toMatchObject({ field: 'env.A' });
    expect(refusal(execRequestSchema, { cmd: ['echo'], env: { 'A=B': '1' } })).toMatchObject({ field: 'env.A=B' });
    expect(refusal(execRequestSchema, { cmd: ['echo'], cwd: '/tmp\0' })).toMatchObject({ field: 'cwd' });
    expect(refusal(execRequestSchema, { cmd: ['echo'], cwd: `/${'x'.repeat(5000)}` })).toMatchObject({ field: 'cwd' });
    expect(refusal(execRequestSchema, { cmd: ['echo'], cwd: 'relative' })).toMatchObject({ field: 'cwd' });
    expect(refusal(execRequestSchema, { cmd: Array.from({ length: 4097 }, () => 'x') })).toMatchObject({ field: 'cmd' });
    expect(refusal(execRequestSchema, { cmd: ['x'.repeat(128 * 1024 + 1)] })).toMatchObject({ field: 'cmd.0' });
    // A command name is bounded by PATH_MAX (a longer one hangs runc when it cannot be run); arguments are not.
    expect(refusal(execRequestSchema, { cmd: ['x'.repeat(4097)] })).toMatchObject({ field: 'cmd.0' });
    expect(refusal(execRequestSchema, { cmd: ['echo', 'x'.repeat(70_000)] })).toBeNull();
    expect(refusal(execRequestSchema, { cmd: ['echo'], env: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`V${i}`, '1'])) })).toMatchObject({
      field: 'env',
    });
    expect(refusal(execRequestSchema, { cmd: ['echo'], cols: 10_001 })).toMatchObject({ field: 'cols' });
    expect(refusal(execClientFrameSchema, { type: 'resize', cols: 1e9, rows: 24 })).toMatchObject({ field: 'cols' });
  });
});

describe('agent protocol', () => {
  const spec = { id: '6b1c0c8e-2f7a-4c59-9d6e-0d2b4d0c3a11', name: 'demo', provider: 'docker', image: 'base', cpus: null, memoryBytes: null, env: {} };
  it('checks specs again on the agent: id, name, image and env end up in paths and command lines', () => {
    expect(workspaceSpecSchema.safeParse(spec).success).toBe(true);
    for (const [field, value] of [
      ['id', '../../etc'],
      ['id', 'a/b'],
      ['id', 'x\ny'],
      ['name', 'a\nlxc.hook.pre-start = /bin/sh'],
      ['name', '-rf'],
      ['image', '../../../etc/passwd'],
      ['memoryBytes', 1.5],
    ] as const) {
      expect(refusal(workspaceSpecSchema, { ...spec, [field]: value }), `${field}=${JSON.stringify(value)}`).toMatchObject({ field });
    }
    expect(refusal(workspaceSpecSchema, { ...spec, env: { 'X;Y': '1' } })).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('has image.resolve, whose image is checked like every other', () => {
    const params = agentMethods['image.resolve'].params;
    expect(params.safeParse({ provider: 'docker', image: 'nosuch:latest' }).success).toBe(true);
    expect(params.safeParse({ provider: 'docker', image: 'x/../../y' }).success).toBe(false);
    expect(agentMethods['image.build'].params.safeParse({ opId: 'o', name: '../x', from: 'busybox', packages: [] }).success).toBe(false);
  });
});
