/**
 * Optional peer dependencies (package.json `peerDependenciesMeta`) are absent from installs that do
 * not need them — a browser app has no `@roamhq/wrtc`, no Babel — so the entry points that do need
 * them turn Node's "not found" into a message that names the npm command (see docs/errors.md).
 */

/**
 * The name of the first of `packages` that `error` reports as not installed, or undefined when the
 * error is something else (a package that is installed but fails to load keeps its own error).
 * Matches Node's ES-module `ERR_MODULE_NOT_FOUND` ("Cannot find package 'x' imported from …") and
 * CommonJS `MODULE_NOT_FOUND` ("Cannot find module 'x'").
 */
export function missingPackage(error: unknown, packages: readonly string[]): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const { code, message } = error as { code?: unknown; message?: unknown }
  if ((code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') || typeof message !== 'string') return undefined
  // Quoted, so '@roamhq/wrtc' does not match a missing '@roamhq/wrtc-linux-x64'.
  return packages.find((name) => message.includes(`'${name}'`))
}
