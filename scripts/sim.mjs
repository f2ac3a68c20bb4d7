#!/usr/bin/env node
/**
 * `npm run sim -- [options]` (see `npm run sim -- --help`): the SCAMP simulator. It runs the real
 * TypeScript in src/gossip, loaded with Vite's module runner (no build step, nothing else to install),
 * so what it measures is exactly what the mesh runs.
 */
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runnerImport } from 'vite'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const { module } = await runnerImport(resolve(root, 'sim/cli.ts'), { root, configFile: false, logLevel: 'error' })
process.exitCode = await module.main(process.argv.slice(2))
