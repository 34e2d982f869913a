// Builds berth-in, the in-workspace helper (native/berth-in, Go, standard library only), to
// dist/native/berth-in: one static linux/amd64 binary, so it runs in any workspace image. Its
// version is berth's plus the first 12 hex of the Go sources' hash, written beside it in
// dist/native/berth-in.version, so the agent knows which build a workspace holds without
// running this binary on its own machine. Called by `npm run build`.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'native/berth-in');
const outDir = join(root, 'dist/native');

/** The Go sources and go.mod, sorted, so the hash is the same on every machine. */
function sources(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : /\.go$|^go\.mod$/.test(e.name) && !e.name.endsWith('_test.go') ? [join(dir, e.name)] : []))
    .sort();
}

const go = spawnSync('go', ['version'], { encoding: 'utf8' });
if (go.error || go.status !== 0) {
  console.error(
    'berth-in needs the Go toolchain (1.19 or newer) to build, and `go` was not found. Install it (Debian: apt-get install golang-go) and run `npm run build` again.',
  );
  process.exit(1);
}

const hash = createHash('sha256');
for (const f of sources(src)) hash.update(relative(src, f)).update('\0').update(readFileSync(f)).update('\0');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const version = `${pkg.version}+${hash.digest('hex').slice(0, 12)}`;

mkdirSync(outDir, { recursive: true });
const tmp = join(outDir, 'berth-in.tmp');
try {
  execFileSync('go', ['build', '-trimpath', '-ldflags', `-s -w -X main.version=${version}`, '-o', tmp, '.'], {
    cwd: src,
    stdio: 'inherit',
    // No network and no C: a static binary from the standard library alone.
    env: { ...process.env, CGO_ENABLED: '0', GOOS: 'linux', GOARCH: 'amd64', GOPROXY: 'off', GO111MODULE: 'on' },
  });
} catch {
  console.error('building berth-in (native/berth-in) failed; see the Go errors above.');
  process.exit(1);
}
renameSync(tmp, join(outDir, 'berth-in'));
writeFileSync(join(outDir, 'berth-in.version'), `berth-in ${version}\n`);
