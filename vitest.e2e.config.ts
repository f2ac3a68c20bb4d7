import { defineConfig } from 'vitest/config'

// E2E runs real Chromium tabs and Node peers: one file at a time, so they do not fight over 2 cores.
export default defineConfig({
  test: {
    include: ['e2e/**/*.test.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
})
