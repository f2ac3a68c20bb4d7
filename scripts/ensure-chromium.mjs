#!/usr/bin/env node
/**
 * Makes sure a Chromium exists for the e2e tests. When none is found and we run as root on a machine
 * with apt-get, it installs Debian's `chromium`; otherwise it explains how to get one and fails.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { findChromium } from './chromium-path.mjs'

const found = findChromium()
if (found) {
  console.log(`chromium: ${found}`)
  process.exit(0)
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
if (isRoot && existsSync('/usr/bin/apt-get')) {
  console.log("chromium: not found; installing Debian's chromium with apt-get (one time)…")
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  for (const args of [['update'], ['install', '-y', 'chromium']]) {
    const result = spawnSync('apt-get', args, { stdio: 'inherit', env })
    if (result.status !== 0) {
      console.error(`chromium: apt-get ${args.join(' ')} failed (exit ${result.status})`)
      process.exit(1)
    }
  }
  const installed = findChromium()
  if (installed) {
    console.log(`chromium: ${installed}`)
    process.exit(0)
  }
}

console.error(`chromium: no Chromium found for the e2e tests.
  Install one (Debian/Ubuntu: sudo apt-get install chromium) or point CHROMIUM_PATH at a Chromium
  or Chrome binary, then run npm test again.`)
process.exit(1)
