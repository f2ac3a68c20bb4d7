/**
 * `node --import meshscope/register app.ts`: installs the meshscope module hooks (./loader-hooks.ts),
 * so TypeScript runs directly and inline hops are checked and registered exactly as the Vite plugin
 * does for tabs. Importing it twice installs the hooks once. Set MESHSCOPE_ROOT to make hop ids
 * relative to another directory than each file's nearest package.json (it must match the Vite
 * plugin's `root`).
 *
 * The hooks need Babel, magic-string, sucrase and remapping, optional peer dependencies of meshscope:
 * without them this import throws a `BUILD_DEPENDENCY_MISSING` error naming the `npm install -D …`
 * to run (Node reports the hooks module's failure to load from `register`, on this thread).
 */
import { register } from 'node:module'
import { LOADER_PACKAGES, missingBuildDependency } from './build-dependencies.js'
import type { LoaderOptions } from './loader-hooks.js'

const INSTALLED = Symbol.for('meshscope.loader-hooks')
const state = globalThis as { [INSTALLED]?: boolean }

if (!state[INSTALLED]) {
  const root = process.env.MESHSCOPE_ROOT
  const data: LoaderOptions = root ? { root } : {}
  try {
    register('./loader-hooks.js', { parentURL: import.meta.url, data })
  } catch (error) {
    throw missingBuildDependency('meshscope/register', LOADER_PACKAGES, error) ?? error
  }
  state[INSTALLED] = true
}
