/**
 * A node's resources as one connection last reported them, overwritten in place on every
 * heartbeat (free memory and disk drift, so nearly every heartbeat changes them). The fields
 * are numbers from the start, so V8 keeps each in a box of its own that a new value is written
 * into; keeping each heartbeat's new object instead would leave ~100 bytes behind per
 * heartbeat for V8's old generation, which is what sets how far the heap grows between full
 * collections at 2,000 heartbeats a second (see report-gate.ts).
 */
import type { NodeResources } from '../../api/index.js';

export class KeptResources implements NodeResources {
  cpus = 0;
  memoryBytes = 0;
  memoryFreeBytes = 0;
  diskBytes = 0;
  diskFreeBytes = 0;

  /** Copies checked resources in. */
  set(r: NodeResources): this {
    this.cpus = r.cpus;
    this.memoryBytes = r.memoryBytes;
    this.memoryFreeBytes = r.memoryFreeBytes;
    this.diskBytes = r.diskBytes;
    this.diskFreeBytes = r.diskFreeBytes;
    return this;
  }

  /** True when `raw` (unchecked JSON) is an object holding exactly these fields with these values. */
  matches(raw: unknown): boolean {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return false;
    const r = raw as Record<string, unknown>;
    let keys = 0;
    for (const key in r) if (Object.hasOwn(r, key)) keys++;
    return (
      keys === 5 &&
      r.cpus === this.cpus &&
      r.memoryBytes === this.memoryBytes &&
      r.memoryFreeBytes === this.memoryFreeBytes &&
      r.diskBytes === this.diskBytes &&
      r.diskFreeBytes === this.diskFreeBytes
    );
  }
}
