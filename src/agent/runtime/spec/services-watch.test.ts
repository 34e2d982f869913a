import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { projectSpecSchema } from '../../../api/index.js';
import { servicesConfig } from './services-config.js';
import { lineSplitter, parseStateLine } from './services-watch.js';

const state = {
  supervisorPid: 12,
  configVersion: 'abcdef012345',
  services: [
    {
      name: 'db',
      state: 'healthy',
      pid: 40,
      restarts: 0,
      exitCode: null,
      startedAt: '2026-01-01T00:00:00Z',
      healthFailures: 0,
      lastHealthOutput: null,
      message: null,
    },
  ],
};

describe('the watch line reader', () => {
  it('gives the same lines however the bytes are cut', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z {}":,0-9]{1,30}$/), { maxLength: 8 }), fc.array(fc.nat(40), { maxLength: 10 }), (lines, cuts) => {
        const text = lines.map((l) => l + '\n').join('');
        const got: string[] = [];
        const feed = lineSplitter((l) => got.push(l));
        let at = 0;
        for (const c of cuts) {
          feed(Buffer.from(text.slice(at, at + c)));
          at += c;
        }
        feed(Buffer.from(text.slice(at)));
        expect(got).toEqual(lines.map((l) => l.trim()).filter(Boolean));
      }),
    );
  });

  it('refuses a line past its cap', () => {
    const feed = lineSplitter(() => {}, 10);
    expect(feed(Buffer.from('0123456789abc'))).toBe(false);
  });

  it('parses a state and refuses anything else', () => {
    expect(parseStateLine(JSON.stringify(state))?.services[0].state).toBe('healthy');
    expect(parseStateLine('{"supervisorPid": 1}')).toBeNull();
    expect(parseStateLine('not json')).toBeNull();
    expect(parseStateLine(JSON.stringify({ ...state, services: [{ ...state.services[0], name: '-rf' }] }))).toBeNull();
  });
});

describe('servicesConfig', () => {
  it('is null without services and carries the user, env, services and waves', () => {
    expect(servicesConfig(projectSpecSchema.parse({}))).toBeNull();
    const c = servicesConfig(
      projectSpecSchema.parse({ user: 'dev', env: { A: '1' }, services: { db: { command: 'db' }, api: { command: ['api'], depends_on: ['db'] } } }),
    );
    expect(c).toMatchObject({ version: 1, user: 'dev', env: { A: '1' }, startWaves: [['db'], ['api']] });
    expect(c?.services.map((s) => s.name)).toEqual(['db', 'api']);
  });
});
