# Thin targets over the npm scripts, for people whose hands type `make`. Each target is one
# npm script (or two), so there is one place that says how berth is built and tested.
.PHONY: all build test test-unit typecheck lint format bench quickstart clean dist

all: build

build:
	npm run build

# The whole suite, as CI runs it (installs and starts what the tests need).
test:
	npm run test:all

test-unit:
	npm run test:unit

typecheck:
	npm run typecheck

# Biome: the linter and the formatter, configured once in biome.json. `make format` applies
# both's safe fixes; the test suite runs the same check as `make lint` (src/lint.test.ts).
lint:
	npm run lint

format:
	npm run format

bench:
	npm run bench

quickstart:
	npm run quickstart

clean:
	rm -rf dist release .berth-test

# A release: the npm package (bin/, the built dist/ with the bundled CLI and agent, docs) as a
# tarball, with the lock file as its npm-shrinkwrap.json so an install gets the very versions
# CI tested, and its SHA-256 checksum. Install: see docs/install.md.
dist: build
	rm -rf release && mkdir -p release/stage
	cp -r bin dist docs README.md package.json release/stage/
	cp package-lock.json release/stage/npm-shrinkwrap.json
	cd release/stage && npm pack --pack-destination ..
	rm -rf release/stage
	cd release && sha256sum berth-*.tgz > SHA256SUMS && cat SHA256SUMS
