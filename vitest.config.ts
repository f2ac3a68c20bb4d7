import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // global.gc for the tests of endpoints dropped by garbage collection (test/channels/drop.test.ts).
    // The default pool (forks) passes these to each worker process.
    execArgv: ['--expose-gc'],
  },
})
