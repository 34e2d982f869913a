/** Terminal handling for interactive exec: raw mode that is always undone, size and resizes. */
import type { InputStream, OutputStream } from './context.js';

/** Puts a TTY stdin into raw mode so keys (Ctrl-C included) go to the remote program; returns the function that restores it. */
export function enterRawMode(stdin: InputStream): () => void {
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function') return () => {};
  const setRawMode = stdin.setRawMode.bind(stdin);
  setRawMode(true);
  // If berth dies without reaching its `finally`, the shell must still get a sane terminal back.
  const onExit = (): void => {
    setRawMode(false);
  };
  process.once('exit', onExit);
  return () => {
    process.off('exit', onExit);
    setRawMode(false);
  };
}

/** The terminal's size, when stdout is one. */
export function terminalSize(stdout: OutputStream): { cols: number; rows: number } | undefined {
  if (!stdout.isTTY || !stdout.columns || !stdout.rows) return undefined;
  return { cols: stdout.columns, rows: stdout.rows };
}

/** Calls `fn` with the new size whenever the terminal is resized (Node turns SIGWINCH into stdout `resize`); returns the unsubscribe. */
export function onTerminalResize(stdout: OutputStream, fn: (cols: number, rows: number) => void): () => void {
  const handler = (): void => {
    const size = terminalSize(stdout);
    if (size) fn(size.cols, size.rows);
  };
  stdout.on('resize', handler);
  return () => stdout.off('resize', handler);
}
