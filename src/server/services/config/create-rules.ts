/**
 * What configuration as code changes about a workspace create: the template it names (its
 * defaults under the request's own spec, then its limits), the owner's quota, and the
 * placement strategy the server settings choose over the start-up flag.
 */

import type { z } from 'zod';
import { BerthError, formatSize, type PlacementStrategy, type ProjectSpec, parseSize, type User, type workspaceCreateSchema } from '../../../api/index.js';
import type { Store } from '../../store/open.js';
import { quotaOf, serverSettings, templateByName } from './live.js';

type CreateBody = z.output<typeof workspaceCreateSchema>;

/** Create-time rules from the stored configuration. */
export class CreateRules {
  constructor(private readonly store: Store) {}

  /** The placement strategy: the server settings' when set, else the start-up flag's. */
  async placement(flag: PlacementStrategy): Promise<PlacementStrategy> {
    return (await serverSettings(this.store.db)).placement ?? flag;
  }

  /**
   * The body with its template's defaults under the request's spec (top-level fields; env
   * merged key by key, the request's winning), checked against the template's limits.
   */
  async withTemplate(body: CreateBody): Promise<CreateBody> {
    if (body.template === undefined) return body;
    const t = await templateByName(this.store.db, body.template);
    if (!t)
      throw new BerthError('NOT_FOUND', `No workspace template named ${body.template}; an admin lists them with \`berth config pull\`.`, { field: 'template' });
    const own: ProjectSpec = body.spec ?? {};
    const spec: ProjectSpec = { ...t.defaults, ...own, ...(t.defaults.env || own.env ? { env: { ...t.defaults.env, ...own.env } } : {}) };
    const out: CreateBody = { ...body, spec };
    const cpus = out.cpus ?? spec.cpus;
    const memory = out.memory ?? spec.memory;
    if (t.limits?.cpus !== undefined && cpus !== undefined && cpus > t.limits.cpus) {
      throw new BerthError('INVALID_ARGUMENT', `Template ${body.template} allows at most ${t.limits.cpus} CPUs; ask for fewer (--cpus).`, { field: 'cpus' });
    }
    const maxMem = t.limits?.memory !== undefined ? parseSize(t.limits.memory)! : undefined;
    if (maxMem !== undefined && memory !== undefined && parseSize(memory)! > maxMem) {
      throw new BerthError('INVALID_ARGUMENT', `Template ${body.template} allows at most ${t.limits!.memory} of memory; ask for less (--memory).`, {
        field: 'memory',
      });
    }
    return out;
  }

  /** Refuses a create that would take the owner past their quota (run inside the placement queue, so two creates cannot both fit). */
  async checkQuota(user: User, cpus: number | null, memoryBytes: number | null): Promise<void> {
    const q = await quotaOf(this.store.db, user.id);
    if (!q) return;
    const used = await this.store.db
      .selectFrom('workspaces')
      .select((eb) => [
        eb.fn.countAll<number>().as('n'),
        eb.fn.sum<number>(eb.fn.coalesce('cpus', eb.lit(0))).as('cpus'),
        eb.fn.sum<number>(eb.fn.coalesce('memory_bytes', eb.lit(0))).as('mem'),
      ])
      .where('owner_id', '=', user.id)
      .executeTakeFirst();
    const n = Number(used?.n ?? 0);
    const usedCpus = Number(used?.cpus ?? 0);
    const usedMem = Number(used?.mem ?? 0);
    const hint = 'remove one with `berth ws rm`, or ask an admin to raise your quota';
    if (q.workspaces !== undefined && n + 1 > q.workspaces) {
      throw new BerthError('FAILED_PRECONDITION', `Your quota allows ${q.workspaces} workspace${q.workspaces === 1 ? '' : 's'} and you have ${n}; ${hint}.`, {
        field: 'quota.workspaces',
      });
    }
    if (q.cpus !== undefined && cpus !== null && usedCpus + cpus > q.cpus) {
      throw new BerthError(
        'FAILED_PRECONDITION',
        `Your quota allows ${q.cpus} CPUs in all; your workspaces reserve ${usedCpus} and this one asks for ${cpus}; ${hint}.`,
        { field: 'quota.cpus' },
      );
    }
    const maxMem = q.memory !== undefined ? parseSize(q.memory)! : undefined;
    if (maxMem !== undefined && memoryBytes !== null && usedMem + memoryBytes > maxMem) {
      throw new BerthError(
        'FAILED_PRECONDITION',
        `Your quota allows ${q.memory} of memory in all; your workspaces reserve ${formatSize(usedMem)} and this one asks for ${formatSize(memoryBytes)}; ${hint}.`,
        { field: 'quota.memory' },
      );
    }
  }
}
