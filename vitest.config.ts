import { defineConfig } from 'vitest/config';

// Projects: fast unit tests next to the code; provider suites against the real Docker, LXC
// and QEMU; the transport against a real sshd; end-to-end tests that start real server and
// agent processes and drive them with the CLI; and fuzzing of a real server process. Each
// slow project runs one file at a time: they share one Docker engine, one LXC and a 2-core
// machine.
export default defineConfig({
  test: {
    projects: [
      // berth-in's tests run the built binary on this host (native/berth-in/test).
      { test: { name: 'unit', include: ['src/**/*.test.ts', 'native/**/*.test.ts'], testTimeout: 20_000 } },
      {
        test: {
          name: 'providers',
          include: ['test/providers/**/*.test.ts', 'test/images/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
      {
        // Several machines on this host (network namespaces, a bridge, an sshd per machine):
        // the fleet tests. Needs root; see docs/fleet.md.
        test: {
          name: 'multinode',
          include: ['test/multinode/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
      {
        // Hostile input against a real server process; BERTH_FUZZ_RUNS raises the case count.
        test: {
          name: 'fuzz',
          include: ['test/fuzz/**/*.test.ts'],
          testTimeout: 1_800_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'transport',
          include: ['test/transport/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
