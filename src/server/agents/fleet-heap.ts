/**
 * Scale (fleet memory): how far V8 lets the server's heap grow between full collections,
 * chosen by the size of the fleet.
 *
 * V8 sets that growth itself (up to about 4× what is live for a fast-allocating, small heap),
 * which is what a server moving bulk bytes (`ws exec`, port forwards) wants: pinned to 1.4×,
 * a lone server's 256 MiB `ws exec` took twice as long (bench/exec-bulk.mjs). A large fleet is
 * the opposite: ~140 MB live at 10,000 agents, allocation steady and small, and V8's own
 * factor keeps 60–90 MiB more committed than needed (docs/performance.md, Fleet scale). So
 * from FLEET_HEAP_AGENTS connected agents on, the growth is pinned at 1.4×; it goes back to
 * V8's own once the fleet is below half that (no flapping around the line).
 *
 * V8's flags are the process's: with several servers in one process (tests) the last to cross
 * the line decides, which only matters to a test with thousands of agents.
 */
import { setFlagsFromString } from 'node:v8';

/** Connected agents from which the heap's growth is pinned (see the file comment). */
export const FLEET_HEAP_AGENTS = 5000;
/** The pinned growth: 40% over what the last full collection left live. */
export const FLEET_HEAP_GROWING_PERCENT = 40;
/** How often the number of connected agents is looked at. */
const CHECK_EVERY_MS = 5000;

export class FleetHeapPolicy {
  private pinned = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly setV8Flags: (flags: string) => void = setFlagsFromString,
    readonly high = FLEET_HEAP_AGENTS,
    readonly low = Math.floor(FLEET_HEAP_AGENTS / 2),
  ) {}

  /** True while the growth is pinned. */
  get isPinned(): boolean {
    return this.pinned;
  }

  /** Takes the number of connected agents; touches V8's flags only when it crosses a line. */
  update(agents: number): void {
    if (!this.pinned && agents >= this.high) {
      this.setV8Flags(`--heap-growing-percent=${FLEET_HEAP_GROWING_PERCENT}`);
      this.pinned = true;
    } else if (this.pinned && agents < this.low) {
      this.setV8Flags('--heap-growing-percent=0'); // 0: V8 chooses again
      this.pinned = false;
    }
  }

  /** Looks at `agents()` every few seconds until stop(). */
  start(agents: () => number, everyMs = CHECK_EVERY_MS): void {
    this.timer ??= setInterval(() => this.update(agents()), everyMs);
    this.timer.unref();
  }

  /** Stops looking, and gives the growth back to V8 if it was pinned. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.pinned) this.update(-1);
  }
}
