/**
 * The build transform shared by the Vite plugin and the Node loader. It rewrites every inline hop
 *
 *   hop(peer, { a, b }, async ({ a, b }, here) => …)
 *
 * (with `hop` imported from 'meshscope' or 'meshscope/node', under any local name, or called as
 * `ns.hop` on a namespace import) into a module-level registration
 *
 *   import { defineHop as __meshscope_defineHop } from 'meshscope'
 *   const __meshscope_hop_0 = __meshscope_defineHop("src/app.ts:12:31#…", async ({ a, b }, here) => …)
 *   …
 *   hop(peer, { a, b }, __meshscope_hop_0)
 *
 * right after the leading imports. Bodies nested in a body are hoisted too, each to its own
 * registration, and the outer body's text refers to the inner one's name. The body's text is moved,
 * not regenerated (magic-string), so a hires source map leads every position in it back to the
 * original. Each body is checked first (./analyze.ts). A call whose block is not an inline function
 * (a block from defineHop) is left as it is.
 */
import { parse, type ParserPlugin } from '@babel/parser'
import traverseModule, { type NodePath } from '@babel/traverse'
import type * as t from '@babel/types'
import MagicString from 'magic-string'
import { checkHop, type HopBodyPath } from './analyze.js'
import { diagnostic, type HopDiagnostic } from './diagnostics.js'
import { hopId, projectPath } from './hop-id.js'
import { inlineHopPolicy } from './hop-policy.js'

// @babel/traverse is CommonJS: Node's ESM loader hands over `module.exports`, whose `default` is the function.
// (Bundlers and test runners may hand over the function itself: accept both.)
type Traverse = typeof traverseModule.default
const traverse: Traverse = (traverseModule as { default?: Traverse }).default ?? (traverseModule as unknown as Traverse)

/** The module specifiers whose `hop` the plugin rewrites. */
export const HOP_MODULES: readonly string[] = ['meshscope', 'meshscope/node']

const MENTIONS_HOP_MODULE = /["'`]meshscope(?:\/node)?["'`]/

export interface TransformHopsOptions {
  /**
   * Ids are relative to this directory.
   * @default the nearest directory above the file that holds a package.json
   */
  root?: string
}

/** A source map (version 3) from the transformed code back to the original file. */
export interface HopSourceMap {
  version: number
  file?: string
  sources: string[]
  sourcesContent?: (string | null)[]
  names: string[]
  mappings: string
  toString(): string
  toUrl(): string
}

export interface TransformHopsResult {
  /** The transformed source (still TypeScript if the input was). Meaningless when `errors` is not empty. */
  code: string
  map: HopSourceMap
  /** The ids registered, in source order of their bodies. */
  ids: string[]
  warnings: HopDiagnostic[]
  errors: HopDiagnostic[]
}

interface InlineHop {
  call: NodePath<t.CallExpression>
  body: HopBodyPath
  name: string
  id: string
  /** The registration's options (its `allow`), as source text. */
  options?: string
}

/**
 * Rewrites the inline hops of one module. Returns undefined when the file does not import `hop` from
 * meshscope (nothing to do). `filename` is used for the id (relative to the project root) and named in
 * every diagnostic; a file that does not parse comes back with one error and unchanged code.
 */
export function transformHops(code: string, filename: string, options: TransformHopsOptions = {}): TransformHopsResult | undefined {
  if (!MENTIONS_HOP_MODULE.test(code)) return undefined
  let ast: t.File
  try {
    ast = parse(code, { sourceType: 'module', plugins: parserPlugins(filename), errorRecovery: false })
  } catch (error) {
    const loc = (error as { loc?: { line: number; column: number } }).loc ?? { line: 1, column: 0 }
    const message = error instanceof Error ? error.message.replace(/\s*\(\d+:\d+\)$/, '') : String(error)
    const failure = diagnostic(filename, loc, `cannot parse this file to check its hops: ${message}`)
    return { code, map: mapOf(new MagicString(code), filename), ids: [], warnings: [], errors: [failure] }
  }

  const program = ast.program
  const hopImport = findHopImport(program)
  if (!hopImport) return undefined

  const inline: Array<{ call: NodePath<t.CallExpression>; body: HopBodyPath }> = []
  traverse(ast, {
    CallExpression(path) {
      if (!isHopCallee(path.get('callee'), hopImport)) return
      const block = path.get('arguments')[2]
      if (block && (block.isArrowFunctionExpression() || block.isFunctionExpression())) inline.push({ call: path, body: block })
    },
  })
  if (inline.length === 0) return { code, map: mapOf(new MagicString(code), filename), ids: [], warnings: [], errors: [] }
  inline.sort((a, b) => a.body.node.start! - b.body.node.start!)

  const prefix = uniquePrefix(code)
  const relativePath = projectPath(filename, options.root)
  const hops: InlineHop[] = inline.map(({ call, body }, index) => {
    const { start, end, loc } = body.node
    return { call, body, name: `${prefix}hop_${index}`, id: hopId(relativePath, loc!.start.line, loc!.start.column + 1, code.slice(start!, end!)) }
  })

  const warnings: HopDiagnostic[] = []
  const errors: HopDiagnostic[] = []
  for (const hop of hops) {
    const nestedBodies = new Set<t.Node>(hops.filter((other) => other !== hop && isWithin(other.body.node, hop.body.node)).map((other) => other.body.node))
    const result = checkHop({ file: filename, code, call: hop.call, body: hop.body, nestedBodies })
    warnings.push(...result.warnings)
    errors.push(...result.errors)
    const policy = inlineHopPolicy(filename, code, hop.call)
    errors.push(...policy.errors)
    hop.options = policy.options
  }

  warnings.sort(bySourceOrder)
  errors.sort(bySourceOrder)
  const output = new MagicString(code)
  const insertAt = registrationIndex(program)
  const defineHop = `${prefix}defineHop`
  const afterImport = program.body[0]?.type === 'ImportDeclaration'
  output.appendLeft(insertAt, `${afterImport ? '\n' : ''}import { defineHop as ${defineHop} } from ${JSON.stringify(hopImport.specifier)};`)
  // In source order: an outer body is moved with the inner ones already cut out of it (they were
  // detached when moved, or are detached right after), and each leaves its name behind.
  for (const hop of hops) {
    const { start, end } = hop.body.node as { start: number; end: number }
    output.appendLeft(start, hop.name)
    output.prependRight(start, `\nconst ${hop.name} = ${defineHop}(${JSON.stringify(hop.id)}, `)
    output.appendLeft(end, hop.options ? `, ${hop.options});` : ');')
    output.move(start, end, insertAt)
  }
  if (!afterImport) output.prependRight(insertAt, '\n')
  return { code: output.toString(), map: mapOf(output, filename), ids: hops.map((hop) => hop.id), warnings, errors }
}

function bySourceOrder(a: HopDiagnostic, b: HopDiagnostic): number {
  return a.line - b.line || a.column - b.column
}

function parserPlugins(filename: string): ParserPlugin[] {
  const path = filename.replace(/[?#].*$/, '')
  const plugins: ParserPlugin[] = ['explicitResourceManagement', 'importAttributes', 'decorators', 'decoratorAutoAccessors']
  if (/\.[cm]?tsx?$/.test(path)) plugins.push('typescript')
  if (/\.[jt]sx$/.test(path)) plugins.push('jsx')
  return plugins
}

interface HopImport {
  specifier: string
  /** Local names of `hop` (`import { hop }`, `import { hop as h }`). */
  names: Set<string>
  /** Local names of namespace imports (`import * as ms`), whose `.hop` counts too. */
  namespaces: Set<string>
  declarations: Set<t.Node>
}

function findHopImport(program: t.Program): HopImport | undefined {
  let found: HopImport | undefined
  for (const statement of program.body) {
    if (statement.type !== 'ImportDeclaration' || statement.importKind === 'type' || !HOP_MODULES.includes(statement.source.value)) continue
    for (const specifier of statement.specifiers) {
      const isHop =
        specifier.type === 'ImportSpecifier' &&
        specifier.importKind !== 'type' &&
        (specifier.imported.type === 'Identifier' ? specifier.imported.name : specifier.imported.value) === 'hop'
      const isNamespace = specifier.type === 'ImportNamespaceSpecifier'
      if (!isHop && !isNamespace) continue
      found ??= { specifier: statement.source.value, names: new Set(), namespaces: new Set(), declarations: new Set() }
      ;(isHop ? found.names : found.namespaces).add(specifier.local.name)
      found.declarations.add(statement)
    }
  }
  return found
}

/** `hop(…)` or `ns.hop(…)` where the name is bound to the import (not shadowed by a local `hop`). */
function isHopCallee(callee: NodePath, hopImport: HopImport): boolean {
  const importedHere = (name: string) => {
    const binding = callee.scope.getBinding(name)
    return binding?.kind === 'module' && binding.path.parentPath !== null && hopImport.declarations.has(binding.path.parentPath.node)
  }
  if (callee.isIdentifier()) return hopImport.names.has(callee.node.name) && importedHere(callee.node.name)
  if (callee.isMemberExpression() && !callee.node.computed) {
    const { object, property } = callee.node
    return (
      object.type === 'Identifier' &&
      property.type === 'Identifier' &&
      property.name === 'hop' &&
      hopImport.namespaces.has(object.name) &&
      importedHere(object.name)
    )
  }
  return false
}

/** After the leading imports (imports are hoisted, so nothing can run before the registrations). */
function registrationIndex(program: t.Program): number {
  let index: number | undefined
  for (const statement of program.body) {
    if (statement.type !== 'ImportDeclaration') break
    index = statement.end!
  }
  return index ?? program.body[0]?.start ?? program.end!
}

/** A prefix for the names the transform adds that no text of the file already uses. */
function uniquePrefix(code: string): string {
  let prefix = '__meshscope_'
  while (code.includes(prefix)) prefix = `_${prefix}`
  return prefix
}

function isWithin(inner: t.Node, outer: t.Node): boolean {
  return inner.start! >= outer.start! && inner.end! <= outer.end! && inner !== outer
}

function mapOf(output: MagicString, filename: string): HopSourceMap {
  const file = filename.replace(/[?#].*$/, '')
  return output.generateMap({ hires: true, source: file, file: file.split(/[\\/]/).pop(), includeContent: true }) as unknown as HopSourceMap
}
