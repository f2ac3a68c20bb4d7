/**
 * `node --import meshscope/register app.ts`: installs the meshscope module hooks (./loader-hooks.ts),
 * so TypeScript runs directly and inline hops are checked and registered exactly as the Vite plugin
 * does for tabs. Importing it twice installs the hooks once. Set MESHSCOPE_ROOT to make hop ids
 * relative to another directory than each file's nearest package.json (it must match the Vite
 * plugin's `root`).
 */
import { register } from 'node:module'
import type { LoaderOptions } from './loader-hooks.js'

const INSTALLED = Symbol.for('meshscope.loader-hooks')
const state = globalThis as { [INSTALLED]?: boolean }

if (!state[INSTALLED]) {
  state[INSTALLED] = true
  const root = process.env.MESHSCOPE_ROOT
  const data: LoaderOptions = root ? { root } : {}
  register('./loader-hooks.js', { parentURL: import.meta.url, data })
}
