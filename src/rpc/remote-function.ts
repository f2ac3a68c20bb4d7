/**
 * Remote functions (remoc's `rfn`): a function placed anywhere in a value sent to another peer
 * arrives there as an async function that calls back. Each call is one request stream; the
 * function's own port stream only marks its lifetime: when the receiving side drops the proxy (or
 * disposes it, or its peer goes away), the function is no longer exported.
 *
 * `rfn(f, { concurrency })` limits calls running at once (the rest wait in order), `rfn.serial(f)`
 * runs them one after another, `rfn.once(f)` accepts one call (later ones fail with ALREADY_CALLED).
 * Plain functions travel with a concurrency of 16. `withContext: true` passes the call's context
 * ({ from, signal }) as an extra last argument.
 */
import type { Connection } from '../channels/connection.js'
import type { PortDecoder, PortEncoder, PortPayload, PortTable } from '../channels/port.js'
import { MeshscopeError } from '../errors.js'
import { callOverConnection, type CallOptions } from './call.js'
import type { CallContext } from './serve.js'

export interface RemoteFunctionOptions {
  /**
   * Calls from other peers running at once; more wait their turn in order.
   * @default 16
   */
  concurrency?: number
  /** Accept a single call; later ones fail with ALREADY_CALLED. */
  once?: boolean
  /** Pass the call's context (`{ from, signal }`) as an extra last argument. */
  withContext?: boolean
}

/** Any function: what `rfn` marks and `RemoteFunction` wraps. */
export type AnyFunction = (...args: never[]) => unknown
const OPTIONS = Symbol('meshscope.rfnOptions')

/** Marks a function with how it may be called remotely. Returns the same function, still callable here. */
export function rfn<F extends AnyFunction>(fn: F, options: RemoteFunctionOptions = {}): F {
  if (typeof fn !== 'function') throw new MeshscopeError('INVALID_ARGUMENT', 'rfn takes a function')
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new MeshscopeError('INVALID_ARGUMENT', 'concurrency must be a positive integer')
  const wrapper = ((...args: Parameters<F>) => fn(...args)) as unknown as F
  Object.defineProperty(wrapper, OPTIONS, { value: { ...options, concurrency } })
  return wrapper
}
/** Remote calls run one after another, in the order they arrive. */
rfn.serial = <F extends AnyFunction>(fn: F, options: Omit<RemoteFunctionOptions, 'concurrency'> = {}): F => rfn(fn, { ...options, concurrency: 1 })
/** One remote call; later ones fail with ALREADY_CALLED. */
rfn.once = <F extends AnyFunction>(fn: F, options: Omit<RemoteFunctionOptions, 'once'> = {}): F => rfn(fn, { ...options, once: true })

const DEFAULT_CONCURRENCY = 16

/** A received remote function: call it like the original (it returns a promise). */
export type RemoteFunction<F extends AnyFunction> = ((...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>>) & {
  /** The same function with a timeout or an AbortSignal for its calls. */
  withOptions(options: CallOptions): (...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>>
  /** Stops using it: the providing peer forgets it. */
  [Symbol.dispose](): void
}

interface Exported {
  fn: AnyFunction
  options: Required<Pick<RemoteFunctionOptions, 'concurrency'>> & RemoteFunctionOptions
  running: number
  waiting: Array<() => void>
  called: boolean
}

const exportsByConnection = new WeakMap<Connection, Map<number, Exported>>()

function exportsOf(connection: Connection): Map<number, Exported> {
  let table = exportsByConnection.get(connection)
  if (!table) exportsByConnection.set(connection, (table = new Map()))
  return table
}

/** Serving side: the exported function behind an id, wrapped with its call limits. */
export function exportedFunction(connection: Connection, id: number): ((args: unknown[], context: CallContext) => unknown) | undefined {
  const exported = exportsOf(connection).get(id)
  if (!exported) return undefined
  return async (args, context) => {
    if (exported.options.once) {
      if (exported.called) throw new MeshscopeError('ALREADY_CALLED', 'this remote function accepts one call and was already called')
      exported.called = true
    }
    while (exported.running >= exported.options.concurrency) await new Promise<void>((resolve) => exported.waiting.push(resolve))
    exported.running++
    try {
      const callArgs = exported.options.withContext ? [...args, context] : args
      return await (exported.fn as (...args: unknown[]) => unknown)(...callArgs)
    } finally {
      exported.running--
      exported.waiting.shift()?.()
    }
  }
}

/** Sending side: any function inside a value becomes a remote function port. */
const encodeFunctionPort: PortEncoder = (connection, value) => {
  if (typeof value !== 'function') return undefined
  const fn = value as AnyFunction
  const options = (fn as unknown as Record<symbol, Exported['options'] | undefined>)[OPTIONS] ?? { concurrency: DEFAULT_CONCURRENCY }
  const stream = connection.openPortStream()
  const payload: PortPayload = { k: 'rfn', s: stream.id }
  return {
    payload,
    activate: () => {
      const table = exportsOf(connection)
      table.set(stream.id, { fn, options, running: 0, waiting: [], called: false })
      stream.close() // nothing flows this way; the other side closing (or vanishing) ends the export
      stream.receive().then(
        () => table.delete(stream.id),
        () => table.delete(stream.id),
      )
    },
    rollback: () => stream.reset('closed', 'the value carrying this function failed to encode'),
  }
}

const proxyDrops = new FinalizationRegistry<{ close(): void }>((stream) => stream.close())

/** Receiving side: a callable proxy. */
const decodeFunctionPort: PortDecoder = (connection, payload) => {
  const stream = connection.claimPortStream(payload.s)
  const call = (options: CallOptions, args: unknown[]) => callOverConnection(connection, { kind: 'function', functionId: stream.id, args }, options)
  const proxy = (...args: unknown[]) => call({}, args)
  proxy.withOptions =
    (options: CallOptions) =>
    (...args: unknown[]) =>
      call(options, args)
  proxy[Symbol.dispose] = () => {
    proxyDrops.unregister(proxy)
    stream.close()
  }
  proxyDrops.register(proxy, stream, proxy)
  return proxy
}

/** The remote function port kind and the encoder that turns functions into it, for a connection's port table. */
export const rfnPorts: PortTable = { kinds: { rfn: decodeFunctionPort }, encoders: [encodeFunctionPort] }
