/**
 * The build plugin and the Node loader parse and rewrite code with packages a browser app never runs
 * (Babel, magic-string, sucrase, remapping), so they are optional peer dependencies (package.json):
 * a project that uses `meshscope/vite` or `meshscope/register` installs them as devDependencies.
 * When one is missing, these entry points fail with the exact `npm install -D …` to run.
 * Keep the lists in step with the imports of transform.ts and strip-types.ts and with package.json
 * `peerDependencies` (test/package/install.test.ts checks the latter).
 */
import { MeshscopeError } from '../errors.js'
import { missingPackage } from '../util/missing-package.js'

/** What the hop transform (./transform.ts) imports: all `meshscope/vite` needs. */
export const TRANSFORM_PACKAGES: readonly string[] = ['@babel/parser', '@babel/traverse', 'magic-string']

/** What the Node loader (./loader-hooks.ts) imports: the transform's packages and type stripping's (./strip-types.ts). */
export const LOADER_PACKAGES: readonly string[] = [...TRANSFORM_PACKAGES, 'sucrase', '@jridgewell/remapping']

/**
 * A `BUILD_DEPENDENCY_MISSING` error when `error` is Node's report that one of `packages` is not
 * installed, naming the command that installs them all; undefined for any other error.
 */
export function missingBuildDependency(entryPoint: string, packages: readonly string[], error: unknown): MeshscopeError | undefined {
  const missing = missingPackage(error, packages)
  if (missing === undefined) return undefined
  return new MeshscopeError('BUILD_DEPENDENCY_MISSING', `${entryPoint} needs ${missing}, which is not installed: npm install -D ${packages.join(' ')}`, {
    cause: error,
  })
}

/** The hop transform, imported on first use so that `meshscope/vite` itself loads without Babel. */
export async function importHopTransform(): Promise<typeof import('./transform.js')> {
  try {
    return await import('./transform.js')
  } catch (error) {
    throw missingBuildDependency('meshscope/vite', TRANSFORM_PACKAGES, error) ?? error
  }
}
