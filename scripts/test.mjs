#!/usr/bin/env node
/** `npm test`: lint (format, rules, layer direction, cycles), build, typecheck, the API report (every type a user meets is exported), unit tests, then e2e with real Chromium tabs and Node peers. Stops at the first failure. */
import { spawnSync } from 'node:child_process'

const steps = [
  ['lint', ['run', 'lint']],
  ['build', ['run', 'build']],
  ['typecheck', ['run', 'typecheck']],
  ['api report', ['run', 'docs:api:check']],
  ['unit', ['run', 'test:unit']],
  ['e2e', ['run', 'test:e2e']],
]

const started = performance.now()
for (const [name, args] of steps) {
  const stepStarted = performance.now()
  console.log(`\n── npm test: ${name} ──`)
  const result = spawnSync('npm', args, { stdio: 'inherit' })
  const seconds = ((performance.now() - stepStarted) / 1000).toFixed(1)
  if (result.status !== 0) {
    console.error(`\nnpm test: ${name} failed after ${seconds} s`)
    process.exit(result.status ?? 1)
  }
  console.log(`── ${name} passed in ${seconds} s`)
}
console.log(`\nnpm test: all passed in ${((performance.now() - started) / 1000).toFixed(1)} s`)
