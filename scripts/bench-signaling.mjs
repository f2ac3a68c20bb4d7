#!/usr/bin/env node
/**
 * `npm run bench:signaling`: the signaling load test (test/attacks/signaling-load.test.ts) at full
 * size — a few thousand hostile sockets from many loopback addresses for several seconds — printing
 * its figures. Opt-in: `npm test` runs the same test with a modest crowd.
 * Override with SIGNALING_LOAD_SOCKETS, SIGNALING_LOAD_SECONDS, SIGNALING_LOAD_ADDRESSES.
 */
import { spawnSync } from 'node:child_process'

const env = {
  ...process.env,
  SIGNALING_LOAD_SOCKETS: process.env.SIGNALING_LOAD_SOCKETS ?? '3000',
  SIGNALING_LOAD_SECONDS: process.env.SIGNALING_LOAD_SECONDS ?? '10',
  SIGNALING_LOAD_ADDRESSES: process.env.SIGNALING_LOAD_ADDRESSES ?? '48',
}
const result = spawnSync('npx', ['vitest', 'run', 'test/attacks/signaling-load.test.ts'], { stdio: 'inherit', env })
process.exit(result.status ?? 1)
