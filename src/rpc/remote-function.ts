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
 *
 * `rfn.provide(f)` gives a provider handle (remoc's `RFnProvider`): `withdraw()` ends every export
 * of its function — calls already on their way and later ones fail with WITHDRAWN, and each proxy
 * is told (a message on its port stream), so its `isClosed` turns true and `closed()` resolves.
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
/** `rfn(fn, options)` with a provider handle that can withdraw it from every peer it was sent to. */
rfn.provide = <F extends AnyFunction>(fn: F, options: RemoteFunctionOptions = {}): RemoteFunctionProvider<F> => {
  const marked = rfn(fn, options)
  const provision: Provision = { withdrawn: false, exports: new Set() }
  Object.defineProperty(marked, PROVISION, { value: provision })
  const withdraw = () => {
    if (provision.withdrawn) return
    provision.withdrawn = true
    for (const end of provision.exports) end()
    provision.exports.clear()
  }
  return {
    fn: marked,
    get isWithdrawn() {
      return provision.withdrawn
    },
    withdraw,
    [Symbol.dispose]: withdraw,
  }
}

const DEFAULT_CONCURRENCY = 16

/** A received remote function: call it like the original (it returns a promise). */
export type RemoteFunction<F extends AnyFunction> = ((...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>>) & {
  /** The same function with a timeout or an AbortSignal for its calls. */
  withOptions(options: CallOptions): (...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>>
  /** Stops using it: the providing peer forgets it. */
  [Symbol.dispose](): void
  /** True once the provider withdrew it (calls fail with WITHDRAWN) or its peer went away. */
  readonly isClosed: boolean
  /** Resolves once the provider withdrew it or its peer went away. */
  closed(): Promise<void>
}

/** The providing side's handle on a remote function (`rfn.provide`). */
export interface RemoteFunctionProvider<F extends AnyFunction> {
  /** The function to send (inside any value); still callable here. */
  readonly fn: F
  /** Whether `withdraw()` was called. */
  readonly isWithdrawn: boolean
  /**
   * Withdraws it everywhere it was sent: calls fail with WITHDRAWN from now on (those running go
   * on), every proxy learns it, and sending `fn` again fails with WITHDRAWN. Idempotent.
   */
  withdraw(): void
  /** `withdraw()`, for `using`. */
  [Symbol.dispose](): void
}

interface Exported {
  fn: AnyFunction
  options: Required<Pick<RemoteFunctionOptions, 'concurrency'>> & RemoteFunctionOptions
  running: number
  waiting: Array<() => void>
  called: boolean
  withdrawn: boolean
}

/** What a provider knows of its function: whether it was withdrawn, and how to withdraw each export. */
interface Provision {
  withdrawn: boolean
  exports: Set<() => void>
}
const PROVISION = Symbol('meshscope.rfnProvision')
/** The one message on a remote function's port stream: its provider withdrew it. */
const WITHDRAWN_MARKER = Uint8Array.of(0x01)

function withdrawnError(): MeshscopeError {
  return new MeshscopeError('WITHDRAWN', 'the provider withdrew this remote function')
}

const exportsByConnection = new WeakMap<Connection, Map<number, Exported>>()

function exportsOf(connection: Connection): Map<number, Exported> {
  let table = exportsByConnection.get(connection)
  if (!table) exportsByConnection.set(connection, (table = new Map()))
  return table
}

/** Serving side: the exported function behind an id, wrapped with its call limits; WITHDRAWN once its provider withdrew it. */
export function exportedFunction(connection: Connection, id: number): ((args: unknown[], context: CallContext) => unknown) | MeshscopeError | undefined {
  const exported = exportsOf(connection).get(id)
  if (!exported) return undefined
  if (exported.withdrawn) return withdrawnError()
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
  const provision = (fn as unknown as Record<symbol, Provision | undefined>)[PROVISION]
  if (provision?.withdrawn) throw withdrawnError()
  const stream = connection.openPortStream()
  const payload: PortPayload = { k: 'rfn', s: stream.id }
  return {
    payload,
    activate: () => {
      const table = exportsOf(connection)
      const exported: Exported = { fn, options, running: 0, waiting: [], called: false, withdrawn: false }
      table.set(stream.id, exported)
      // Nothing flows this way but the withdrawal; the other side closing (or vanishing) ends the export.
      const withdraw = () => {
        exported.withdrawn = true
        stream.send(WITHDRAWN_MARKER).catch(() => {})
        stream.close()
      }
      if (provision) provision.exports.add(withdraw)
      else stream.close()
      const forget = () => {
        table.delete(stream.id)
        provision?.exports.delete(withdraw)
      }
      stream.receive().then(forget, forget)
    },
    rollback: () => stream.reset('closed', 'the value carrying this function failed to encode'),
  }
}

const proxyDrops = new FinalizationRegistry<{ close(): void }>((stream) => stream.close())

/**
 * Receiving side: a callable proxy. It reads its port stream for the one message a provider sends
 * when it withdraws the function (then it is closed, and calls fail here with WITHDRAWN); the
 * stream failing (the peer went away) or disposing the proxy closes it too. A bare CLOSE means
 * nothing (a provider without a handle closes its side at once).
 */
const decodeFunctionPort: PortDecoder = (connection, payload) => {
  const stream = connection.claimPortStream(payload.s)
  let withdrawn = false
  let closed = false
  let markClosed!: () => void
  const closedPromise = new Promise<void>((resolve) => (markClosed = resolve))
  const close = () => {
    closed = true
    markClosed()
  }
  stream.receive().then((message) => {
    if (message === null) return
    withdrawn = true
    close()
    stream.close() // the provider may forget it now
  }, close)
  stream.onSendEnd(close) // disposed here, or the connection went away
  const call = (options: CallOptions, args: unknown[]) =>
    withdrawn ? Promise.reject(withdrawnError()) : callOverConnection(connection, { kind: 'function', functionId: stream.id, args }, options)
  const proxy = (...args: unknown[]) => call({}, args)
  Object.defineProperty(proxy, 'isClosed', { get: () => closed })
  proxy.closed = () => closedPromise
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
