/**
 * The linter and the formatter (Biome, configured in biome.json) run as part of the test
 * command, so a finding fails the suite like any other test and is counted with them.
 * `npm run format` fixes what can be fixed safely; the rest the message names.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIOME = path.join(ROOT, 'node_modules', '.bin', 'biome');

describe('lint and format', () => {
  it('biome finds nothing to change in the tree (run `npm run format`, then fix what it names)', () => {
    // `biome ci` is the read-only check: lint rules, formatting and import order, no writes.
    const run = spawnSync(BIOME, ['ci', '--reporter=summary', '--max-diagnostics=50', '.'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    if (run.error) throw new Error(`could not run ${BIOME} (${run.error.message}); run \`npm ci\` first`);
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
  }, 90_000);
});
