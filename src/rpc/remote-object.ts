/**
 * Typed remote objects: `mesh.expose(name, impl)` on one peer, `mesh.remote<T>(peerId, name)` on
 * another. Every method of the proxy returns a promise of the method's result. A method may declare
 * a last parameter of type CallContext ({ from, signal }): meshscope passes it after the caller's
 * arguments, and the proxy's type leaves it out.
 *
 * The proxy is closed (`isClosed`, `closed()`) once a call learns that the provider withdrew the
 * object (WITHDRAWN), or its peer left; later calls then fail at once with that error. `closed`,
 * `isClosed` and `then` are therefore not remote method names.
 */
import { MeshscopeError } from '../errors.js'
import type { CallOptions } from './call.js'
import type { CallContext } from './serve.js'

/** A method's parameters A without a trailing CallContext (meshscope passes that one itself). */
export type WithoutContext<A extends unknown[]> = A extends [...infer Rest, CallContext] ? Rest : A

/** The proxy type of T: each method takes the same arguments (minus a trailing CallContext) and returns a promise. */
export type Remote<T> = {
  readonly [K in keyof T as T[K] extends (...args: never[]) => unknown ? (K extends 'closed' | 'isClosed' ? never : K) : never]: T[K] extends (
    ...args: infer A
  ) => infer R
    ? (...args: WithoutContext<A>) => Promise<Awaited<R>>
    : never
} & RemoteLifecycle

/** Whether a remote-object proxy still reaches its object. */
export interface RemoteLifecycle {
  /** True once the object was withdrawn (learned on a call) or its peer left: calls fail at once. */
  readonly isClosed: boolean
  /** Resolves once the proxy is closed. */
  closed(): Promise<void>
}

/** A proxy's closed state: the error later calls fail with, once set. */
export class ProxyLifecycle implements RemoteLifecycle {
  #error?: MeshscopeError
  #resolve!: () => void
  readonly #closed = new Promise<void>((resolve) => (this.#resolve = resolve))

  get isClosed(): boolean {
    return this.#error !== undefined
  }

  /** The error calls fail with once closed. */
  get error(): MeshscopeError | undefined {
    return this.#error
  }

  closed(): Promise<void> {
    return this.#closed
  }

  close(error: MeshscopeError): void {
    if (this.#error) return
    this.#error = error
    this.#resolve()
  }
}

/** Builds a proxy whose every property is a method calling `invoke(method, args)` (and `closed`/`isClosed` from `lifecycle`). */
export function createRemoteProxy<T>(
  invoke: (method: string, args: unknown[], options: CallOptions) => Promise<unknown>,
  options: CallOptions,
  lifecycle: ProxyLifecycle = new ProxyLifecycle(),
): Remote<T> {
  const methods = new Map<string, (...args: unknown[]) => Promise<unknown>>()
  const closed = () => lifecycle.closed()
  return new Proxy(Object.create(null) as object, {
    get(_, property) {
      // Not a thenable: `await mesh.remote(...)` must give the proxy, not call a remote "then".
      if (typeof property !== 'string' || property === 'then') return undefined
      if (property === 'isClosed') return lifecycle.isClosed
      if (property === 'closed') return closed
      let method = methods.get(property)
      if (!method) methods.set(property, (method = (...args: unknown[]) => invoke(property, args, options)))
      return method
    },
    set() {
      throw new MeshscopeError('INVALID_ARGUMENT', 'a remote object proxy is read-only')
    },
  }) as Remote<T>
}
