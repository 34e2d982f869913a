/** NodeReports against a plain model: any sequence of reports, forgets and disconnects leaves the same reports. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ListeningPort } from '../../api/index.js';
import { NodeReports } from './node-reports.js';

type Step = { op: 'set' | 'forget' | 'forgetNode'; node: string; ws: string; port: number };

const step = fc.record({
  op: fc.constantFrom('set' as const, 'forget' as const, 'forgetNode' as const),
  node: fc.constantFrom('n1', 'n2', 'n3'),
  ws: fc.constantFrom('w1', 'w2', 'w3', 'w4'),
  port: fc.integer({ min: 1, max: 65535 }),
});

const list = (port: number): ListeningPort[] => [{ port, protocol: 'tcp', addresses: ['0.0.0.0'], process: null }];

describe('NodeReports', () => {
  it('keeps what a naive model keeps, whatever the order of reports and disconnects', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps: Step[]) => {
        const registry = new NodeReports<ListeningPort[]>();
        const model = new Map<string, { node: string; port: number }>();
        for (const s of steps) {
          if (s.op === 'set') {
            registry.set(s.node, s.ws, list(s.port));
            model.set(s.ws, { node: s.node, port: s.port });
          } else if (s.op === 'forget') {
            registry.forget(s.node, s.ws);
            if (model.get(s.ws)?.node === s.node) model.delete(s.ws);
          } else {
            registry.forgetNode(s.node);
            for (const [ws, e] of model) if (e.node === s.node) model.delete(ws);
          }
          for (const ws of ['w1', 'w2', 'w3', 'w4']) {
            for (const node of ['n1', 'n2', 'n3']) {
              const want = model.get(ws);
              const got = registry.get(ws, node);
              expect(got?.value[0]?.port ?? null).toBe(want && want.node === node ? want.port : null);
            }
          }
          expect(registry.size).toBe(model.size);
        }
      }),
    );
  });
});
