/**
 * `meshscope/vite`: the Vite plugin for inline hops. In vite.config.ts:
 *
 *   import { meshscope } from 'meshscope/vite'
 *   export default defineConfig({ plugins: [meshscope()] })
 *
 * It runs before Vite's own TypeScript transform (`enforce: 'pre'`) on .ts/.tsx/.mts/.js/.mjs/.jsx
 * modules outside node_modules that import `hop` from 'meshscope' or 'meshscope/node', hoists every
 * inline hop body to a module-level registration (ids identical to those the Node loader derives from
 * the same file), reports warnings through `this.warn` and fails the build through `this.error`,
 * each with file:line:col.
 *
 * The transform needs Babel and magic-string, optional peer dependencies of meshscope: without them
 * the build fails at its start (`buildStart`) with a `BUILD_DEPENDENCY_MISSING` error naming the
 * `npm install -D …` to run.
 */
import type { Plugin } from 'vite'
import { importHopTransform } from './build-dependencies.js'
import type { TransformHopsOptions } from './transform.js'

export interface MeshscopeViteOptions {
  /**
   * Ids are relative to this directory. Set it (and MESHSCOPE_ROOT for the loader) only if the
   * default, the one the Node loader uses too, differs between sides.
   * @default each file's nearest directory holding a package.json
   */
  root?: string
}

const SOURCE = /\.(?:m?[jt]s|[jt]sx)$/

export function meshscope(options: MeshscopeViteOptions = {}): Plugin {
  const transformOptions: TransformHopsOptions = options.root === undefined ? {} : { root: options.root }
  let hopTransform: ReturnType<typeof importHopTransform> | undefined
  const loadHopTransform = () => (hopTransform ??= importHopTransform())
  return {
    name: 'meshscope',
    enforce: 'pre',
    async buildStart() {
      await loadHopTransform()
    },
    async transform(code, id) {
      if (id.startsWith('\0')) return null
      const file = id.replace(/[?#].*$/, '')
      if (!SOURCE.test(file) || file.includes('/node_modules/')) return null
      const { transformHops } = await loadHopTransform()
      const result = transformHops(code, file, transformOptions)
      if (!result) return null
      for (const warning of result.warnings) this.warn({ message: warning.message, loc: { file, line: warning.line, column: warning.column - 1 } })
      if (result.errors.length > 0) {
        const [first] = result.errors
        this.error({
          message: result.errors.map((error) => error.message).join('\n'),
          loc: { file, line: first!.line, column: first!.column - 1 },
        })
      }
      return { code: result.code, map: result.map }
    },
  }
}

export default meshscope
