/**
 * Typed remote objects: `mesh.expose(name, impl)` on one peer, `mesh.remote<T>(peerId, name)` on
 * another. Every method of the proxy returns a promise of the method's result. A method may declare
 * a last parameter of type CallContext ({ from, signal }): meshscope passes it after the caller's
 * arguments, and the proxy's type leaves it out.
 */
import { MeshscopeError } from '../errors.js'
import type { CallOptions } from './call.js'
import type { CallContext } from './serve.js'

/** A method's parameters A without a trailing CallContext (meshscope passes that one itself). */
export type WithoutContext<A extends unknown[]> = A extends [...infer Rest, CallContext] ? Rest : A

/** The proxy type of T: each method takes the same arguments (minus a trailing CallContext) and returns a promise. */
export type Remote<T> = {
  readonly [K in keyof T as T[K] extends (...args: never[]) => unknown ? K : never]: T[K] extends (...args: infer A) => infer R
    ? (...args: WithoutContext<A>) => Promise<Awaited<R>>
    : never
}

/** Builds a proxy whose every property is a method calling `invoke(method, args)`. */
export function createRemoteProxy<T>(invoke: (method: string, args: unknown[], options: CallOptions) => Promise<unknown>, options: CallOptions): Remote<T> {
  const methods = new Map<string, (...args: unknown[]) => Promise<unknown>>()
  return new Proxy(Object.create(null) as object, {
    get(_, property) {
      // Not a thenable: `await mesh.remote(...)` must give the proxy, not call a remote "then".
      if (typeof property !== 'string' || property === 'then') return undefined
      let method = methods.get(property)
      if (!method) methods.set(property, (method = (...args: unknown[]) => invoke(property, args, options)))
      return method
    },
    set() {
      throw new MeshscopeError('INVALID_ARGUMENT', 'a remote object proxy is read-only')
    },
  }) as Remote<T>
}
