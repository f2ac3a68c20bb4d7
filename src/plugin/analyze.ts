/**
 * The build-time checks of an inline hop body, the seed's compile-time safety: a body runs on another
 * peer with nothing but its captures, the module it was written in, and globals. So, from Babel's scope
 * analysis of the body (bindings resolved the way the language does, shadowing included):
 * - a variable of an enclosing function or block scope used in the body without being captured is an
 *   error (it would not exist on the other peer);
 * - a captured variable the body never uses is a warning;
 * - captures must be an object literal of plain names (`{ a, b }`), so every capture is a variable;
 * - `this`, `super`, `new.target` and (in an arrow) `arguments` are errors: they would mean the
 *   enclosing code's values, which do not travel.
 * Uses in type positions do not count: types are erased before the code runs.
 */
import type { Binding, NodePath } from '@babel/traverse'
import type * as t from '@babel/types'
import { diagnostic, type HopDiagnostic } from './diagnostics.js'

export type HopBodyPath = NodePath<t.ArrowFunctionExpression | t.FunctionExpression>

export interface HopCheckInput {
  file: string
  /** The original source, to quote captures that are not plain names. */
  code: string
  call: NodePath<t.CallExpression>
  body: HopBodyPath
  /** Inline hop bodies nested in this one: they are hoisted and checked on their own. */
  nestedBodies: ReadonlySet<t.Node>
}

export interface HopCheckResult {
  errors: HopDiagnostic[]
  warnings: HopDiagnostic[]
}

type Position = { line: number; column: number }

const TYPE_ONLY_NODES = new Set([
  'TSTypeAnnotation',
  'TSTypeParameterInstantiation',
  'TSTypeParameterDeclaration',
  'TSInterfaceDeclaration',
  'TSTypeAliasDeclaration',
  'TSDeclareFunction',
  'TSDeclareMethod',
  'TSInterfaceBody',
  'TSExpressionWithTypeArguments',
  'TSClassImplements',
  'TSInterfaceHeritage',
])

export function checkHop(input: HopCheckInput): HopCheckResult {
  const { file, body } = input
  const errors: HopDiagnostic[] = []
  const warnings: HopDiagnostic[] = []
  const captures = readCaptures(input, errors)
  const captured = captures?.names
  checkContextKeywords(input, errors)

  // Variables of enclosing function and block scopes that the body touches (read or write).
  const outerUses = new Map<string, Position>()
  for (let scope = body.parentPath.scope; scope && !scope.path.isProgram(); scope = scope.parent) {
    for (const [name, binding] of Object.entries(scope.bindings)) {
      // A class declaration's name is bound inside the class too; at module level it is a module binding.
      if (scope.path.isClassDeclaration() && binding.identifier === scope.path.node.id && scope.parent?.path.isProgram()) continue
      const first = firstUseInside(binding, input)
      if (first && !outerUses.has(name)) outerUses.set(name, first)
    }
  }
  const usedOuter = [...outerUses.entries()].sort(([, a], [, b]) => a.line - b.line || a.column - b.column)
  const missing = usedOuter.filter(([name]) => !captured?.has(name))
  if (missing.length > 0) {
    const names = missing.map(([name]) => name)
    const all = [...(captured?.keys() ?? []), ...names].join(', ')
    errors.push(
      diagnostic(
        file,
        missing[0]![1],
        `the hop body uses ${missing.length === 1 ? names[0] : missing.map(([name, p]) => `${name} (${p.line}:${p.column + 1})`).join(', ')} from an enclosing scope without capturing ${names.length === 1 ? 'it' : 'them'}: ` +
          `a hop body runs on another peer with only its captures, module-level bindings and globals. Capture ${names.length === 1 ? 'it' : 'them'}: hop(peer, { ${all} }, async ({ ${all} }, here) => …)`,
      ),
    )
  }
  for (const [name, position] of usedOuter.filter(([name]) => captured?.has(name))) {
    errors.push(
      diagnostic(
        file,
        position,
        `the hop body uses ${name} from the enclosing scope although it is captured: take it from the body's first parameter, as in async ({ ${name} }, here) => …`,
      ),
    )
  }

  if (captures?.allPlain) checkCapturesAgainstParameter(input, captures.names, errors, warnings)
  return { errors, warnings }
}

/**
 * The captured names and where each is written; undefined (with an error) when captures are not an
 * object literal, `allPlain: false` (with an error per offending property) when some are not plain names.
 */
function readCaptures(input: HopCheckInput, errors: HopDiagnostic[]): { names: Map<string, t.Node>; allPlain: boolean } | undefined {
  const { file, code, call } = input
  const capturesNode = call.node.arguments[1]
  const plainNames = 'hop captures must be an object literal of plain names, like { a, b }'
  if (capturesNode?.type !== 'ObjectExpression') {
    const where = capturesNode ?? call.node
    errors.push(diagnostic(file, start(where), `${plainNames}; got ${quote(code, where)}`))
    return undefined
  }
  const names = new Map<string, t.Node>()
  let ok = true
  for (const property of capturesNode.properties) {
    const plain =
      property.type === 'ObjectProperty' &&
      property.shorthand &&
      !property.computed &&
      property.key.type === 'Identifier' &&
      property.value.type === 'Identifier' &&
      property.key.name === property.value.name
    if (plain) names.set((property.key as t.Identifier).name, property)
    else {
      ok = false
      errors.push(diagnostic(file, start(property), `${plainNames}; ${quote(code, property)} is not a plain name`))
    }
  }
  return { names, allPlain: ok }
}

/** The first read or write of `binding` inside the body, outside nested hop bodies and type positions. */
function firstUseInside(binding: Binding, input: HopCheckInput): Position | undefined {
  let first: Position | undefined
  for (const use of [...binding.referencePaths, ...binding.constantViolations]) {
    if (!isInside(use, input) || isInTypePosition(use, input.body)) continue
    // A write like `x = 1` is a constant violation on the assignment; point at the target.
    const node = use.isAssignmentExpression() || use.isUpdateExpression() ? targetOf(use.node, binding.identifier.name) : use.node
    const position = start(node)
    if (!first || position.line < first.line || (position.line === first.line && position.column < first.column)) first = position
  }
  return first
}

function targetOf(node: t.Node, name: string): t.Node {
  const found = findIdentifier(node.type === 'AssignmentExpression' ? node.left : node.type === 'UpdateExpression' ? node.argument : node, name)
  return found ?? node
}

function findIdentifier(node: t.Node, name: string): t.Node | undefined {
  if (node.type === 'Identifier') return node.name === name ? node : undefined
  for (const value of Object.values(node)) {
    const children = Array.isArray(value) ? value : [value]
    for (const child of children) {
      if (child && typeof child === 'object' && typeof (child as t.Node).type === 'string') {
        const found = findIdentifier(child as t.Node, name)
        if (found) return found
      }
    }
  }
  return undefined
}

/** Inside the body, and not inside a nested inline hop body (those are checked on their own). */
function isInside(path: NodePath, input: HopCheckInput): boolean {
  for (let current: NodePath | null = path; current; current = current.parentPath) {
    if (current.node === input.body.node) return true
    if (input.nestedBodies.has(current.node)) return false
  }
  return false
}

function isInTypePosition(path: NodePath, stop: NodePath): boolean {
  for (let current: NodePath | null = path; current && current.node !== stop.node; current = current.parentPath) {
    if (TYPE_ONLY_NODES.has(current.node.type) || current.isTSType()) return true
    if (current.isVariableDeclaration() && current.node.declare) return true
  }
  return false
}

/** `this`, `super`, `new.target`, and `arguments` in an arrow body, unless a nested function gives them their own meaning. */
function checkContextKeywords(input: HopCheckInput, errors: HopDiagnostic[]): void {
  const { body, file, nestedBodies } = input
  const arrow = body.isArrowFunctionExpression()
  const refuse = (node: t.Node, what: string, why: string) =>
    errors.push(diagnostic(file, start(node), `a hop body cannot use ${what}: ${why}; capture the values it needs instead`))
  const ownedByBody = (path: NodePath, throughFunctions: boolean): boolean => {
    for (let current = path.parentPath; current; current = current.parentPath) {
      if (current.node === body.node) return true
      if (throughFunctions) continue
      if (current.isFunction() && !current.isArrowFunctionExpression()) return false
      if (current.isClassProperty() || current.isClassPrivateProperty() || current.isClassAccessorProperty() || current.isStaticBlock()) return false
    }
    return false
  }
  body.traverse({
    enter(path) {
      if (nestedBodies.has(path.node)) path.skip()
    },
    ThisExpression(path) {
      if (ownedByBody(path, false))
        refuse(
          path.node,
          '`this`',
          arrow
            ? "in an arrow function it is the enclosing code's `this`, which does not travel to the other peer"
            : "it would not be the enclosing code's `this` on the other peer",
        )
    },
    Super(path) {
      if (arrow && ownedByBody(path, false))
        refuse(path.node, '`super`', "in an arrow function it is the enclosing class's, which does not travel to the other peer")
    },
    MetaProperty(path) {
      if (arrow && path.node.meta.name === 'new' && path.node.property.name === 'target' && ownedByBody(path, false))
        refuse(path.node, '`new.target`', "in an arrow function it is the enclosing function's, which does not travel to the other peer")
    },
    Identifier(path) {
      if (!arrow || path.node.name !== 'arguments' || !path.isReferencedIdentifier() || path.scope.getBinding('arguments')) return
      if (ownedByBody(path, false))
        refuse(path.node, '`arguments`', "in an arrow function it is the enclosing function's, which do not travel to the other peer")
    },
  })
}

/**
 * The body's first parameter takes the captures: `({ a, b }, here) => …` (destructuring, defaults and
 * nested patterns allowed) or `(captures, here) => captures.a`. A name it takes that is not captured
 * is an error (it would be undefined); a captured name it never uses is a warning.
 */
function checkCapturesAgainstParameter(input: HopCheckInput, captured: Map<string, t.Node>, errors: HopDiagnostic[], warnings: HopDiagnostic[]): void {
  const { body, file } = input
  const unused = (name: string) => warnings.push(diagnostic(file, start(captured.get(name)!), `hop captures ${name} but the body never uses it`))
  const capturedList = `{ ${[...captured.keys()].join(', ')} }`
  const notCaptured = (name: string, node: t.Node) =>
    errors.push(diagnostic(file, start(node), `the hop body takes ${name} from its captures, but the captures (${capturedList}) do not have it`))

  let parameter: NodePath | undefined = body.get('params')[0]
  if (parameter?.isAssignmentPattern()) parameter = parameter.get('left')
  if (!parameter) {
    for (const name of captured.keys()) unused(name)
    return
  }
  if (parameter.isObjectPattern()) {
    const taken = new Set<string>()
    let rest: Binding | undefined
    for (const property of parameter.get('properties')) {
      if (property.isRestElement()) {
        const argument = property.get('argument')
        if (argument.isIdentifier()) rest = body.scope.getBinding(argument.node.name)
        continue
      }
      if (!property.isObjectProperty()) continue
      const key = property.node.key
      const name = property.node.computed
        ? key.type === 'StringLiteral'
          ? key.value
          : undefined
        : key.type === 'Identifier'
          ? key.name
          : key.type === 'StringLiteral'
            ? key.value
            : undefined
      if (name === undefined) continue
      taken.add(name)
      if (!captured.has(name)) {
        notCaptured(name, property.node)
        continue
      }
      const bound = Object.keys(property.get('value').getBindingIdentifiers())
      const referenced = bound.some((local) => body.scope.getBinding(local)?.referenced)
      if (!referenced) unused(name)
    }
    const restUsed = rest?.referenced === true
    if (!restUsed) for (const name of captured.keys()) if (!taken.has(name)) unused(name)
    return
  }
  if (parameter.isIdentifier()) {
    const binding = body.scope.getBinding(parameter.node.name)
    if (!binding) return
    const accessed = new Set<string>()
    for (const reference of binding.referencePaths) {
      const parent = reference.parentPath
      const member = parent?.isMemberExpression() || parent?.isOptionalMemberExpression() ? (parent.node as t.MemberExpression) : undefined
      const property = member && member.object === reference.node ? member.property : undefined
      const name = !property
        ? undefined
        : !member!.computed && property.type === 'Identifier'
          ? property.name
          : property.type === 'StringLiteral'
            ? property.value
            : undefined
      if (name === undefined) return // the captures object is used as a whole: every capture may be used
      if (!captured.has(name) && !accessed.has(name)) notCaptured(name, reference.parentPath!.node)
      accessed.add(name)
    }
    for (const name of captured.keys()) if (!accessed.has(name)) unused(name)
  }
  // Other patterns (an array pattern…) leave the captures' use unknown: nothing to say.
}

function start(node: t.Node): Position {
  const loc = node.loc?.start
  return { line: loc?.line ?? 1, column: loc?.column ?? 0 }
}

function quote(code: string, node: t.Node): string {
  const text = code.slice(node.start ?? 0, node.end ?? 0).replace(/\s+/g, ' ')
  return `\`${text.length > 60 ? `${text.slice(0, 57)}...` : text}\``
}
