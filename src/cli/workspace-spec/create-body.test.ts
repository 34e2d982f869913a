import { describe, expect, it } from 'vitest';
import { type BerthError, projectSpecSchema, workspaceCreateSchema } from '../../api/index.js';
import { createBody } from './create-body.js';

const spec = projectSpecSchema.parse({ name: 'from-spec', image: 'dev', provider: 'lxc', cpus: 2, memory: '1g', services: { a: { command: 'x' } } });

describe('createBody', () => {
  it('takes the spec values and the spec itself', () => {
    const body = createBody(undefined, { constraint: [] }, spec);
    expect(body).toMatchObject({ name: 'from-spec', image: 'dev', provider: 'lxc', cpus: 2, memory: '1g' });
    expect(body.spec).toBe(spec);
    expect(workspaceCreateSchema.safeParse(body).success).toBe(true);
  });

  it('lets every flag win over the spec', () => {
    const body = createBody('cli-name', { provider: 'qemu', image: 'base', cpus: 1, memory: '512m', node: 'n1', constraint: ['zone=eu'] }, spec);
    expect(body).toMatchObject({ name: 'cli-name', provider: 'qemu', image: 'base', cpus: 1, memory: '512m', node: 'n1', constraints: ['zone=eu'] });
  });

  it('defaults to docker without a spec, and needs a name from somewhere', () => {
    expect(createBody('x', { constraint: [] }, null)).toEqual({ name: 'x', provider: 'docker' });
    const err = (() => {
      try {
        createBody(undefined, { constraint: [] }, projectSpecSchema.parse({}), 'berth.yaml');
      } catch (e) {
        return e as BerthError;
      }
    })();
    expect(err?.code).toBe('INVALID_ARGUMENT');
    expect(err?.message).toContain('berth.yaml has no name');
  });
});
