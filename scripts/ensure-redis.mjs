#!/usr/bin/env node
/**
 * Makes sure a `redis-server` exists for the tests of several signaling servers sharing rooms. When none
 * is found and we run as root on a machine with apt-get, it installs Debian's `redis-server` (the tests
 * start their own on a free loopback port with persistence off; the package's service is not used).
 * Otherwise it explains how to get one and exits 0: those tests then skip, saying why.
 */
import { spawnSync } from 'node:child_process'
import { findRedisServer } from './redis-path.mjs'

const found = findRedisServer()
if (found) {
  console.log(`redis-server: ${found}`)
  process.exit(0)
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
if (isRoot && findRedisServer.hasAptGet()) {
  console.log("redis-server: not found; installing Debian's redis-server with apt-get (one time)…")
  // RUNLEVEL=1 keeps the package's own service from starting: the tests start theirs.
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', RUNLEVEL: '1' }
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'redis-server']]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env })
    if (result.status !== 0) {
      console.error(`redis-server: apt-get ${args.join(' ')} failed (exit ${result.status})`)
      process.exit(process.env.CI ? 1 : 0)
    }
  }
  const installed = findRedisServer()
  if (installed) {
    console.log(`redis-server: ${installed}`)
    process.exit(0)
  }
}

console.error(`redis-server: none found; the tests of several signaling servers sharing rooms will skip.
  Install one (Debian/Ubuntu: sudo apt-get install redis-server) or point REDIS_SERVER_PATH at a
  redis-server binary, then run npm test again.`)
// CI must run those tests: a CI machine without redis-server fails here rather than skipping them.
process.exit(process.env.CI ? 1 : 0)
