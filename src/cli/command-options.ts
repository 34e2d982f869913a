/** Options that many commands share, declared once so they read the same everywhere. */
import { type Command, InvalidArgumentError } from 'commander';
import { BerthError } from '../api/index.js';

/** Adds `--json` to a command; every berth command has it. */
export function withJson(cmd: Command): Command {
  return cmd.option('--json', 'print machine-readable JSON (the API objects) instead of text');
}

/** Adds `--no-wait` to a command that starts an operation. */
export function withNoWait(cmd: Command): Command {
  return cmd.option('--no-wait', 'return as soon as the server accepted the operation instead of following it');
}

/**
 * Wraps a value parser for commander: a BerthError becomes commander's InvalidArgumentError,
 * so a bad option value is reported like every other usage error and exits 2.
 */
export function optionParser<T>(parse: (text: string) => T): (text: string) => T;
export function optionParser<T, P>(parse: (text: string, previous: P) => T): (text: string, previous: P) => T;
export function optionParser<T, P>(parse: (text: string, previous: P) => T): (text: string, previous: P) => T {
  return (text, previous) => {
    try {
      return parse(text, previous);
    } catch (err) {
      if (err instanceof BerthError) throw new InvalidArgumentError(err.message);
      throw err;
    }
  };
}
