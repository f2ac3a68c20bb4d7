/**
 * Node module hooks (module.register) behind `node --import meshscope/register app.ts`:
 * - resolve: a relative `./x.js` that does not exist but `./x.ts` does resolves to the .ts file
 *   (the NodeNext convention: sources import their compiled names); likewise .jsx → .tsx, .mjs → .mts.
 * - load: .ts/.mts/.tsx files outside node_modules go through the hop transform (on the original
 *   TypeScript, exactly as the Vite plugin sees it, so both derive the same ids) and then have their
 *   types stripped; they are loaded as ES modules. ES-module .js/.mjs files outside node_modules go
 *   through the hop transform only. A file whose hops fail the checks is not loaded: the import
 *   rejects with a HopBuildError listing every file:line:col. Warnings go to stderr.
 * CommonJS sources (.cts, .cjs, `require`) are not transformed.
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { HopBuildError, type HopDiagnostic } from './diagnostics.js'
import { stripTypes, withInlineMap } from './strip-types.js'
import { transformHops, type TransformHopsOptions } from './transform.js'

interface ResolveContext {
  parentURL?: string
  conditions: string[]
  importAttributes?: Record<string, string>
}
interface ResolveResult {
  url: string
  format?: string | null
  shortCircuit?: boolean
}
interface LoadContext {
  format?: string | null
  conditions: string[]
  importAttributes?: Record<string, string>
}
interface LoadResult {
  format: string
  source?: string | ArrayBuffer | Uint8Array | null
  shortCircuit?: boolean
}

/** What `register.ts` passes in `data`. */
export interface LoaderOptions {
  /** See TransformHopsOptions.root. */
  root?: string
}

let transformOptions: TransformHopsOptions = {}

export function initialize(data: LoaderOptions | undefined): void {
  transformOptions = data?.root === undefined ? {} : { root: data.root }
}

const TYPESCRIPT = /\.(?:m?ts|tsx)$/
const JAVASCRIPT = /\.m?js$/
const COMPILED_NAME = /\.(m?)js(x?)$/

export async function resolve(
  specifier: string,
  context: ResolveContext,
  nextResolve: (specifier: string, context?: ResolveContext) => Promise<ResolveResult>,
): Promise<ResolveResult> {
  try {
    return await nextResolve(specifier, context)
  } catch (error) {
    const relative = specifier.startsWith('./') || specifier.startsWith('../') || specifier.startsWith('/') || specifier.startsWith('file:')
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND' || !relative || !COMPILED_NAME.test(specifier)) throw error
    const candidates = specifier.endsWith('.js') ? ['.ts', '.tsx'] : specifier.endsWith('.mjs') ? ['.mts'] : ['.tsx']
    for (const extension of candidates) {
      try {
        return await nextResolve(specifier.replace(COMPILED_NAME, '') + extension, context)
      } catch {
        // try the next candidate
      }
    }
    throw error
  }
}

export async function load(url: string, context: LoadContext, nextLoad: (url: string, context?: LoadContext) => Promise<LoadResult>): Promise<LoadResult> {
  if (!url.startsWith('file:') || url.includes('/node_modules/')) return nextLoad(url, context)
  const path = fileURLToPath(url)
  if (TYPESCRIPT.test(path) && !path.endsWith('.d.ts')) {
    const source = await readFile(path, 'utf8')
    const hopped = transformHops(source, path, transformOptions)
    if (hopped) report(hopped.warnings, hopped.errors)
    const { code, map } = stripTypes(hopped?.code ?? source, path, hopped?.map)
    map.sources = [url]
    return { format: 'module', source: withInlineMap(code, map), shortCircuit: true }
  }
  if (JAVASCRIPT.test(path)) {
    const loaded = await nextLoad(url, context)
    if (loaded.format !== 'module' || loaded.source == null) return loaded
    const source = typeof loaded.source === 'string' ? loaded.source : Buffer.from(loaded.source as Uint8Array).toString('utf8')
    const hopped = transformHops(source, path, transformOptions)
    if (!hopped) return loaded
    report(hopped.warnings, hopped.errors)
    const map = JSON.parse(hopped.map.toString()) as Parameters<typeof withInlineMap>[1]
    map.sources = [url]
    return { format: 'module', source: withInlineMap(hopped.code, map), shortCircuit: true }
  }
  return nextLoad(url, context)
}

function report(warnings: readonly HopDiagnostic[], errors: readonly HopDiagnostic[]): void {
  for (const warning of warnings) process.stderr.write(`meshscope: warning: ${warning.message}\n`)
  if (errors.length > 0) throw new HopBuildError(errors)
}
