/**
 * Everything the mesh offers for talking to peers by name: mailboxes (send / call / selective
 * receive / references), remote functions (through values) and exposed objects. It routes each
 * request to the peer's connection, or runs it here without the network when the peer is this one.
 */
import type { Connection, PeerRouter } from '../channels/connection.js'
import { MeshscopeError } from '../errors.js'
import type { MuxStream } from '../mux/stream.js'
import { DEFAULT_CALL_TIMEOUT_MS, callOverConnection, sendOverConnection, validateCallOptions, type CallOptions } from '../rpc/call.js'
import { RemoteError } from '../rpc/errors.js'
import { DEFAULT_MAX_REQUESTS_IN_FLIGHT } from '../rpc/request-slots.js'
import type { ServeLimits } from '../rpc/serve-limits.js'
import { validateName, type Request } from '../rpc/protocol.js'
import { exportedFunction } from '../rpc/remote-function.js'
import { ProxyLifecycle, createRemoteProxy, type Remote } from '../rpc/remote-object.js'
import { serveRequest, type CallContext, type RequestTargets } from '../rpc/serve.js'
import { MailboxRef, MailboxRegistry, type Mailbox, type MailboxHandler, type MailboxOptions, type SpawnOptions } from '../services/mailboxes.js'
import { currentLoop } from '../services/process-context.js'
import type { Principal } from '../identity/principal.js'

export interface MessagingHost {
  /** This peer's id (a function: the mesh's identity is set after this object is made). */
  id(): string
  /** The connection to a joined peer; undefined when there is none. */
  connectionTo(peerId: string): Connection | undefined
  /** Opens a link on demand when there is none (the scamp topology); undefined if it cannot. */
  connect?(peerId: string): Promise<Connection | undefined>
  /**
   * Waits, within `options` (timeout, signal), for the link to a room member that is still forming
   * (the full topology: forming-link.ts); undefined at once for a peer that is not a member.
   */
  awaitLink?(peerId: string, options: CallOptions): Promise<Connection | undefined>
  /** Throws MESH_CLOSED once the mesh is closing. */
  assertOpen(): void
  report(error: MeshscopeError): void
  /**
   * How long calls, hops and sends wait for the peer's answer when they do not say (`Infinity`: no limit).
   * @default DEFAULT_CALL_TIMEOUT_MS (30_000)
   */
  callTimeoutMs?: number | undefined
  /**
   * Requests (calls, hops, sends, remote function and method calls) in flight to one peer at once;
   * more wait for a slot (src/rpc/request-slots.ts).
   * @default DEFAULT_MAX_REQUESTS_IN_FLIGHT (255)
   */
  maxRequestsInFlight?: number | undefined
  /** Serving the requests peers open (`limits.serve`). */
  serveLimits?: ServeLimits | undefined
  /** A peer's verified principal now (this peer's own for local calls); absent in a room without auth. */
  principalOf?(peerId: string): Principal | undefined
}

/**
 * What `expose` returns: calling it (or `withdraw()`, or disposing it) withdraws the object —
 * calls fail with WITHDRAWN from then on, and each proxy that learns it is closed.
 */
export type ExposedObject = (() => void) & {
  withdraw(): void
  readonly isWithdrawn: boolean
  [Symbol.dispose](): void
}

/** Remote-object proxies collected: they no longer wait for their peer to leave. */
const proxyDrops = new FinalizationRegistry<() => void>((forget) => forget())

export class Messaging implements PeerRouter, RequestTargets {
  readonly mailboxes = new MailboxRegistry((error) => this.host.report(error))
  #exposed = new Map<string, object>()
  /** Names withdrawn (and not exposed again): calls to them fail with WITHDRAWN rather than UNKNOWN_MAILBOX. */
  #withdrawn = new Set<string>()
  /** The open remote-object proxies of each peer: closed when it leaves. */
  #proxiesByPeer = new Map<string, Set<ProxyLifecycle>>()

  constructor(private readonly host: MessagingHost) {}

  // ── the API the mesh exposes ───────────────────────────────────────────────

  register<T = unknown, R = unknown>(name: string, handler: MailboxHandler<T, R>): () => void {
    return this.mailboxes.register(name, handler)
  }

  mailbox<T = unknown>(name: string, options?: MailboxOptions): Mailbox<T> {
    return this.mailboxes.mailbox<T>(name, options)
  }

  spawn<T = unknown>(name: string, loop: (self: Mailbox<T>) => unknown, options?: SpawnOptions): Mailbox<T> {
    return this.mailboxes.spawn<T>(name, loop, options)
  }

  ref<T = unknown, R = unknown>(name: string): MailboxRef<T, R> {
    validateName('mailbox', name)
    return new MailboxRef<T, R>(this.host.id(), name, this)
  }

  /** Resolves once the peer's mailbox accepted the message (see `sendOverConnection`); waits at most `callTimeoutMs`. */
  async send(peerId: string, name: string, value: unknown): Promise<void> {
    this.host.assertOpen()
    validateName('mailbox', name)
    if (peerId === this.host.id()) return this.#sendLocally(name, value)
    // A joined peer's connection is at hand: no await before the request is on its way.
    const started = Date.now()
    const connection = this.host.connectionTo(peerId) ?? (await this.#connection(peerId, { timeout: this.#timeoutMs() }))
    try {
      await sendOverConnection(connection, { kind: 'send', name, value }, remainingAfter({ timeout: this.#timeoutMs() }, started))
    } catch (error) {
      this.host.assertOpen() // our own mesh closing is MESH_CLOSED, whatever the stream saw
      throw error
    }
  }

  async call(peerId: string, name: string, value: unknown, options: CallOptions = {}): Promise<unknown> {
    this.host.assertOpen()
    validateName('mailbox', name)
    validateCallOptions(options)
    const withTimeout = this.#withDefaultTimeout(options)
    if (peerId === this.host.id()) {
      // A spawned mailbox's loop waiting for its own reply would wait forever (Factor's deadlock).
      if (this.mailboxes.isLoopOf(name, currentLoop()))
        throw new MeshscopeError('SELF_CALL', `the loop of mailbox "${name}" called its own mailbox: it cannot reply while it waits`)
      return this.#runLocally({ kind: 'call', name, value }, withTimeout)
    }
    // A joined peer's connection is at hand: no await before the request is on its way.
    const joined = this.host.connectionTo(peerId)
    if (joined) return callOverConnection(joined, { kind: 'call', name, value }, withTimeout)
    const started = Date.now()
    const connection = await this.#connection(peerId, withTimeout)
    return callOverConnection(connection, { kind: 'call', name, value }, remainingAfter(withTimeout, started))
  }

  expose(name: string, impl: object): ExposedObject {
    validateName('object', name)
    if (typeof impl !== 'object' || impl === null) throw new MeshscopeError('INVALID_ARGUMENT', 'expose takes an object')
    if (this.#exposed.has(name)) throw new MeshscopeError('INVALID_ARGUMENT', `"${name}" is already exposed`)
    this.#exposed.set(name, impl)
    this.#withdrawn.delete(name)
    let withdrawn = false
    const withdraw = () => {
      if (withdrawn) return
      withdrawn = true
      if (this.#exposed.get(name) !== impl) return
      this.#exposed.delete(name)
      this.#withdrawn.add(name)
    }
    return Object.defineProperties(withdraw, {
      withdraw: { value: withdraw },
      isWithdrawn: { get: () => withdrawn },
      [Symbol.dispose]: { value: withdraw },
    }) as ExposedObject
  }

  remote<T>(peerId: string, name: string, options: CallOptions = {}): Remote<T> {
    validateName('object', name)
    validateCallOptions(options)
    const lifecycle = new ProxyLifecycle()
    const proxy = createRemoteProxy<T>(
      async (method, args, callOptions) => {
        this.host.assertOpen()
        if (lifecycle.error) throw lifecycle.error
        const request: Request = { kind: 'method', object: name, method, args }
        try {
          const withTimeout = this.#withDefaultTimeout(callOptions)
          if (peerId === this.host.id()) return await this.#runLocally(request, withTimeout)
          const started = Date.now()
          const connection = await this.#connection(peerId, withTimeout)
          return await callOverConnection(connection, request, remainingAfter(withTimeout, started))
        } catch (error) {
          if (error instanceof MeshscopeError && error.code === 'WITHDRAWN') lifecycle.close(error)
          throw error
        }
      },
      options,
      lifecycle,
    )
    if (peerId !== this.host.id()) this.#watchPeer(peerId, proxy, lifecycle)
    return proxy
  }

  /** The peer left (its link ended, other than replaced): its remote-object proxies are closed. */
  peerLeft(peerId: string): void {
    const proxies = this.#proxiesByPeer.get(peerId)
    if (!proxies) return
    this.#proxiesByPeer.delete(peerId)
    const error = new MeshscopeError('PEER_GONE', `peer ${peerId} left`)
    for (const lifecycle of proxies) lifecycle.close(error)
  }

  #watchPeer(peerId: string, proxy: object, lifecycle: ProxyLifecycle): void {
    let proxies = this.#proxiesByPeer.get(peerId)
    if (!proxies) this.#proxiesByPeer.set(peerId, (proxies = new Set()))
    proxies.add(lifecycle)
    const watched = proxies
    proxyDrops.register(proxy, () => {
      watched.delete(lifecycle)
      if (watched.size === 0 && this.#proxiesByPeer.get(peerId) === watched) this.#proxiesByPeer.delete(peerId)
    })
    void lifecycle.closed().then(() => watched.delete(lifecycle))
  }

  /** Serves a request stream a peer opened (`first`: its first message, if already read). */
  serve(connection: Connection, stream: MuxStream, first?: Uint8Array): Promise<void> {
    return serveRequest(connection, stream, this, first)
  }

  // ── RequestTargets ─────────────────────────────────────────────────────────

  mailboxHandler(name: string) {
    return this.mailboxes.get(name)
  }

  exportedFunction(connection: Connection, id: number) {
    return exportedFunction(connection, id)
  }

  exposedObject(name: string): object | MeshscopeError | undefined {
    return this.#exposed.get(name) ?? (this.#withdrawn.has(name) ? withdrawnError(name) : undefined)
  }

  principalOf(peerId: string): Principal | undefined {
    return this.host.principalOf?.(peerId)
  }

  report(error: MeshscopeError): void {
    this.host.report(error)
  }

  /** How long calls, hops and sends wait for an answer unless they say (the mesh's `callTimeoutMs`). */
  get callTimeoutMs(): number {
    return this.host.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS
  }

  /** How long a peer's request may take to arrive (`RequestTargets.serveLimits`). */
  get serveLimits(): ServeLimits | undefined {
    return this.host.serveLimits
  }

  /** Requests in flight to one peer at once; more wait (the mesh's `maxRequestsInFlight`). */
  get maxRequestsInFlight(): number {
    return this.host.maxRequestsInFlight ?? DEFAULT_MAX_REQUESTS_IN_FLIGHT
  }

  #timeoutMs(): number {
    return this.callTimeoutMs
  }

  #withDefaultTimeout(options: CallOptions): CallOptions {
    return options.timeout === undefined ? { ...options, timeout: this.#timeoutMs() } : options
  }

  // ── local delivery: same semantics, no encoding ────────────────────────────

  /** A send to this peer: accepted when the mailbox took it, as for a peer's send; the handler's failure is reported. */
  async #sendLocally(name: string, value: unknown): Promise<void> {
    await Promise.resolve() // like a remote send, never synchronous
    const deliver = this.mailboxes.get(name)
    if (!deliver) throw new MeshscopeError('UNKNOWN_MAILBOX', `no mailbox "${name}" on this peer`)
    const context: CallContext = { from: this.host.id(), principal: this.principalOf(this.host.id()), signal: new AbortController().signal }
    const failed = (error: unknown) => this.host.report(new MeshscopeError('HANDLER_FAILED', `mailbox "${name}" failed: ${String(error)}`, { cause: error }))
    let result: unknown
    try {
      result = deliver(value, context, false, 0)
    } catch (error) {
      if (error instanceof MeshscopeError && error.code === 'MAILBOX_FULL') throw error
      failed(error)
    }
    void Promise.resolve(result).catch(failed)
  }

  async #runLocally(request: Request, options: CallOptions): Promise<unknown> {
    const controller = new AbortController()
    const context: CallContext = { from: this.host.id(), principal: this.principalOf(this.host.id()), signal: controller.signal }
    const onAbort = () => controller.abort(options.signal?.reason)
    options.signal?.addEventListener('abort', onAbort, { once: true })
    const timer =
      options.timeout === undefined || options.timeout === Number.POSITIVE_INFINITY
        ? undefined
        : setTimeout(() => controller.abort(new MeshscopeError('TIMEOUT', `no reply within ${options.timeout} ms`)), options.timeout)
    try {
      const work = (async () => {
        await Promise.resolve() // like a remote call, never synchronous
        switch (request.kind) {
          case 'send':
          case 'call': {
            const deliver = this.mailboxes.get(request.name)
            if (!deliver) throw new MeshscopeError('UNKNOWN_MAILBOX', `no mailbox "${request.name}" on this peer`)
            try {
              return await deliver(request.value, context, request.kind === 'call', 0)
            } catch (error) {
              throw error instanceof MeshscopeError ? error : new RemoteError(this.host.id(), asError(error), true)
            }
          }
          case 'method': {
            const target = this.#exposed.get(request.object)
            const method = target && !Object.hasOwn(Object.prototype, request.method) ? (target as Record<string, unknown>)[request.method] : undefined
            if (!target && this.#withdrawn.has(request.object)) throw withdrawnError(request.object)
            if (!target) throw new MeshscopeError('UNKNOWN_MAILBOX', `nothing is exposed as "${request.object}" on this peer`)
            if (typeof method !== 'function') throw new MeshscopeError('UNKNOWN_METHOD', `"${request.object}" has no method "${request.method}"`)
            try {
              return await method.apply(target, [...request.args, context])
            } catch (error) {
              throw error instanceof MeshscopeError ? error : new RemoteError(this.host.id(), asError(error), true)
            }
          }
          case 'function':
            throw new MeshscopeError('INVALID_ARGUMENT', 'local functions are called directly')
        }
      })()
      const aborted = new Promise<never>((_, reject) =>
        controller.signal.addEventListener('abort', () => {
          const reason = controller.signal.reason
          reject(reason instanceof MeshscopeError ? reason : new MeshscopeError('ABORTED', 'the call was aborted', { cause: reason }))
        }),
      )
      return await Promise.race([work, aborted])
    } finally {
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
    }
  }

  /** The connection to `peerId`: joined, opened on demand (scamp), or still forming (full: waits within `options`). */
  async #connection(peerId: string, options: CallOptions = {}): Promise<Connection> {
    const connection = this.host.connectionTo(peerId) ?? (await this.host.connect?.(peerId)) ?? (await this.host.awaitLink?.(peerId, options))
    this.host.assertOpen() // the mesh may have closed while this waited for a link
    if (!connection) throw new MeshscopeError('PEER_NOT_CONNECTED', `not connected to peer ${peerId}`)
    return connection
  }
}

/** `options` with what is left of its timeout since `started` (a wait for the link took the rest). */
function remainingAfter(options: CallOptions, started: number): CallOptions {
  if (options.timeout === undefined || !Number.isFinite(options.timeout)) return options
  return { ...options, timeout: Math.max(1, options.timeout - (Date.now() - started)) }
}

function withdrawnError(name: string): MeshscopeError {
  return new MeshscopeError('WITHDRAWN', `"${name}" was withdrawn by its provider`)
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
