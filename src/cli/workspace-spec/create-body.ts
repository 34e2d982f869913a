/**
 * The body of `berth ws create` from the command line and a spec file: the spec gives name,
 * image, provider, CPUs and memory; a flag given on the command line wins over the spec's
 * value. The whole spec travels with the request (the server checks it again and keeps it).
 */
import { BerthError, type ProjectSpec, type WorkspaceCreateBody } from '../../api/index.js';

/** What the command line said (undefined: not given). */
export interface CreateFlags {
  provider?: string;
  image?: string;
  node?: string;
  cpus?: number;
  memory?: string;
  constraint: string[];
}

/** Builds the create body; the name comes from the argument, else from the spec's `name`. */
export function createBody(name: string | undefined, flags: CreateFlags, spec: ProjectSpec | null, specFile?: string): WorkspaceCreateBody {
  const chosen = name ?? spec?.name;
  if (chosen === undefined) {
    const hint = spec ? `${specFile ?? 'the spec'} has no name: give one on the command line or add name: to the spec` : 'give the workspace a name';
    throw new BerthError('INVALID_ARGUMENT', `No workspace name: ${hint}.`, { field: 'name' });
  }
  const body: WorkspaceCreateBody = { name: chosen, provider: (flags.provider ?? spec?.provider ?? 'docker') as WorkspaceCreateBody['provider'] };
  const image = flags.image ?? spec?.image;
  if (image !== undefined) body.image = image;
  if (flags.node !== undefined) body.node = flags.node;
  const cpus = flags.cpus ?? spec?.cpus;
  if (cpus !== undefined) body.cpus = cpus;
  const memory = flags.memory ?? spec?.memory;
  if (memory !== undefined) body.memory = memory;
  if (flags.constraint.length > 0) body.constraints = flags.constraint;
  if (spec) body.spec = spec;
  return body;
}
