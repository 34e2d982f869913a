import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { logsSinceSchema, serviceLogsArgv, serviceLogsQuerySchema, serviceNameParamSchema, workspaceCreateSchema } from './services.js';

describe('service logs query', () => {
  it('takes durations and RFC 3339 times, nothing else', () => {
    for (const ok of ['10m', '1h30m', '500ms', '2026-01-02T15:04:05Z', '2026-01-02T15:04:05.123+02:00'])
      expect(logsSinceSchema.safeParse(ok).success, ok).toBe(true);
    for (const bad of ['', '-1m', '--follow', '10', 'yesterday', '2026-01-02', '1m; rm -rf /']) expect(logsSinceSchema.safeParse(bad).success, bad).toBe(false);
    expect(serviceLogsQuerySchema.safeParse({ tail: '-1' }).success).toBe(false);
    expect(serviceLogsQuerySchema.safeParse({ extra: 'x' }).success).toBe(false);
  });

  it('builds an argv where no user text can read as an option', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.option(fc.nat(200_000)), fc.boolean(), (service, since, tail, follow) => {
        const name = serviceNameParamSchema.safeParse(service);
        const q = serviceLogsQuerySchema.safeParse({ since, ...(tail === null ? {} : { tail: String(tail) }), follow: String(follow) });
        if (!name.success || !q.success) return;
        const argv = serviceLogsArgv('/b', name.data, q.data);
        expect(argv.slice(0, 4)).toEqual(['/b', 'ctl', 'logs', name.data]);
        // Every value after the fixed words is either one of our flags or follows one.
        for (let i = 4; i < argv.length; i++) {
          if (argv[i].startsWith('-')) expect(['--follow', '--since', '--tail']).toContain(argv[i]);
        }
        expect(name.data.startsWith('-')).toBe(false);
      }),
    );
  });
});

describe('the create body', () => {
  it('takes a valid spec and refuses a bad one with its field', () => {
    expect(workspaceCreateSchema.safeParse({ name: 'a', spec: { services: { db: { command: 'x' } } } }).success).toBe(true);
    const bad = workspaceCreateSchema.safeParse({ name: 'a', spec: { services: { db: { command: 'x', depends_on: ['nope'] } } } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0].path.join('.')).toBe('spec.services.db.depends_on.nope');
  });
});
