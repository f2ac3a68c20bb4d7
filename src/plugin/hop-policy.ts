/**
 * An inline hop's policy: `hop(peer, captures, body, { allow })`. The body moves to a module-level
 * registration; so does its `allow`, which the serving peer checks before running the body. There it
 * runs outside the call's scope, so it may name only module-level bindings, imports and globals (a
 * variable of an enclosing function would not exist there): that is checked here. The expression is
 * wrapped so it is evaluated when a hop arrives, not at registration (a module-level `const`
 * declared further down is then initialised).
 */
import type { NodePath } from '@babel/traverse'
import type * as t from '@babel/types'
import { diagnostic, type HopDiagnostic } from './diagnostics.js'

export interface InlinePolicy {
  /** The registration's options, as source text (`{ allow: … }`), or undefined when the hop has none. */
  options?: string
  errors: HopDiagnostic[]
}

/** The `allow` of the options literal passed to an inline hop, checked and ready to move. */
export function inlineHopPolicy(file: string, code: string, call: NodePath<t.CallExpression>): InlinePolicy {
  const options = call.get('arguments')[3]
  if (!options?.isObjectExpression()) return { errors: [] }
  let allow: NodePath<t.Expression> | undefined
  for (const property of options.get('properties')) {
    if (!property.isObjectProperty() || property.node.computed) continue
    const key = property.node.key
    if ((key.type === 'Identifier' && key.name === 'allow') || (key.type === 'StringLiteral' && key.value === 'allow')) {
      allow = property.get('value') as NodePath<t.Expression>
    }
  }
  if (!allow) return { errors: [] }
  const local = new Set<string>()
  const check = (path: NodePath<t.Identifier>) => {
    if (!path.isReferencedIdentifier()) return
    const binding = path.scope.getBinding(path.node.name)
    // Bound inside the expression itself (its parameters), or at module level: fine after the move.
    if (!binding || binding.scope.path.isProgram() || isWithin(binding.path.node, allow!.node)) return
    local.add(path.node.name)
  }
  if (allow.isIdentifier()) check(allow)
  else allow.traverse({ Identifier: check })
  if (local.size > 0) {
    const loc = allow.node.loc!.start
    const names = [...local].join(', ')
    return {
      errors: [
        diagnostic(
          file,
          loc,
          `the hop's allow uses ${names} from an enclosing scope: it runs on the serving peer, where only module-level names exist — move ${local.size === 1 ? 'it' : 'them'} to module level`,
        ),
      ],
    }
  }
  const text = code.slice(allow.node.start!, allow.node.end!)
  return { options: `{ allow: (callerId) => (${text})(callerId) }`, errors: [] }
}

function isWithin(inner: t.Node, outer: t.Node): boolean {
  return inner.start! >= outer.start! && inner.end! <= outer.end!
}
