#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: installs and starts what the tests need,
# builds berth, runs unit, provider and end-to-end tests against the real engines, and ends
# with one line `N passed, N failed[, N skipped]` counting every test that ran.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/host.sh

require_node
ensure_packages "$BERTH_APT_PACKAGES $BERTH_TEST_APT_PACKAGES"
ensure_dockerd
ensure_provider_hosts
ensure_build

# Tests talk only to this machine: no node started by a test may ask an image registry.
export BERTH_IMAGE_PULL=off

# The tests are type-checked first: vitest strips types without checking them.
npx tsc -p tsconfig.test.json

report=$(mktemp /tmp/berth-vitest-XXXXXX.json)
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
node scripts/lib/summarize-vitest.mjs "$report" || status=1
rm -f "$report"
exit "$status"
