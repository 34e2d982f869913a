/**
 * Shows a running operation. On a terminal: one line that updates in place (spinner, stage,
 * percentage) with log lines scrolling above it. Piped: plain `stage: ...` lines when the
 * stage changes, and the log lines as they come, so logs and CI output stay readable.
 */
import type { Operation, OperationEvent } from '../../api/index.js';
import type { OutputStream } from '../context.js';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const CLEAR_LINE = '\r\x1b[2K';

/** A progress display for one operation; call `event` for each event and `stop` at the end. */
export interface ProgressDisplay {
  event(e: OperationEvent): void;
  stop(): void;
}

/** Picks the terminal or the plain display by whether `out` is a TTY. */
export function createProgressDisplay(out: OutputStream, label: string): ProgressDisplay {
  return out.isTTY ? new TerminalProgress(out, label) : new PlainProgress(out);
}

/** The one-line, in-place display for terminals. */
export class TerminalProgress implements ProgressDisplay {
  #frame = 0;
  #stage = 'waiting';
  #fraction: number | null = null;
  #timer: NodeJS.Timeout;

  constructor(
    private readonly out: OutputStream,
    private readonly label: string,
  ) {
    this.#timer = setInterval(() => {
      this.#frame = (this.#frame + 1) % SPINNER.length;
      this.#draw();
    }, 100);
    // The spinner must never be what keeps the process alive.
    this.#timer.unref();
    this.#draw();
  }

  event(e: OperationEvent): void {
    if (e.type === 'progress') {
      this.#stage = e.stage;
      this.#fraction = e.fraction;
    } else if (e.type === 'log') {
      this.out.write(`${CLEAR_LINE}${e.line}\n`);
    } else {
      return;
    }
    this.#draw();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.out.write(CLEAR_LINE);
  }

  #draw(): void {
    const percent = this.#fraction === null ? '' : ` ${Math.round(this.#fraction * 100)}%`;
    const line = `${SPINNER[this.#frame]} ${this.label}: ${this.#stage}${percent}`;
    // A line wider than the terminal wraps and `\r` can then no longer erase it; cut it short.
    const width = this.out.columns && this.out.columns > 1 ? this.out.columns - 1 : 200;
    this.out.write(CLEAR_LINE + [...line].slice(0, width).join(''));
  }
}

/** The line-by-line display for pipes and files. */
export class PlainProgress implements ProgressDisplay {
  #stage: string | undefined;

  constructor(private readonly out: OutputStream) {}

  event(e: OperationEvent): void {
    if (e.type === 'progress') {
      // Percent updates within one stage would flood a log file; only stage changes are news.
      if (e.stage === this.#stage) return;
      this.#stage = e.stage;
      const percent = e.fraction === null ? '' : ` (${Math.round(e.fraction * 100)}%)`;
      this.out.write(`stage: ${e.stage}${percent}\n`);
    } else if (e.type === 'log') {
      this.out.write(`${e.line}\n`);
    }
  }

  stop(): void {}
}

/** A short description of an operation for the progress line, e.g. `workspace.create workspace/demo`. */
export function operationLabel(op: Operation): string {
  return `${op.kind} ${op.target}`;
}
