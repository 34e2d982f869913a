/** What this machine has: CPUs, memory and the disk that holds the agent's state. */
import { statfs } from 'node:fs/promises';
import { cpus, freemem, totalmem } from 'node:os';
import type { NodeResources } from '../../api/index.js';

/** Reads the machine's resources now. */
export async function readResources(diskPath: string): Promise<NodeResources> {
  let diskBytes = 0;
  let diskFreeBytes = 0;
  try {
    const s = await statfs(diskPath);
    diskBytes = s.blocks * s.bsize;
    diskFreeBytes = s.bavail * s.bsize;
  } catch {
    // An unreadable disk reports zeros rather than failing the heartbeat.
  }
  return { cpus: cpus().length, memoryBytes: totalmem(), memoryFreeBytes: freemem(), diskBytes, diskFreeBytes };
}
