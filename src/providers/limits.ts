/**
 * Limits every provider applies the same way: a workspace may not ask for more CPUs or memory
 * than its node has, nor for less than a useful minimum.
 */
import { BerthError, formatSize, MIN_MEMORY_BYTES, type WorkspaceSpec } from '../api/index.js';

/** Checks the limits against what the node can give; INVALID_ARGUMENT naming the field otherwise. */
export function validateLimits(
  spec: Pick<WorkspaceSpec, 'cpus' | 'memoryBytes'>,
  host: { cpus: number; memoryBytes: number },
  minMemoryBytes = MIN_MEMORY_BYTES,
): void {
  if (spec.cpus !== null) {
    if (spec.cpus < 0.01) throw new BerthError('INVALID_ARGUMENT', 'Give at least 0.01 CPUs.', { field: 'cpus' });
    if (host.cpus > 0 && spec.cpus > host.cpus) {
      throw new BerthError('INVALID_ARGUMENT', `This node has ${host.cpus} CPUs: ask for at most ${host.cpus}, or pick a bigger node.`, { field: 'cpus' });
    }
  }
  if (spec.memoryBytes !== null) {
    const min = Math.max(minMemoryBytes, MIN_MEMORY_BYTES);
    if (spec.memoryBytes < min) throw new BerthError('INVALID_ARGUMENT', `Give at least ${formatSize(min)} of memory.`, { field: 'memory' });
    if (host.memoryBytes > 0 && spec.memoryBytes > host.memoryBytes) {
      throw new BerthError('INVALID_ARGUMENT', `This node has ${formatSize(host.memoryBytes)} of memory: ask for less, or pick a bigger node.`, {
        field: 'memory',
      });
    }
  }
}
