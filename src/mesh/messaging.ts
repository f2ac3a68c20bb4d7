/**
 * Everything the mesh offers for talking to peers by name: mailboxes (send / call / selective
 * receive / references), remote functions (through values) and exposed objects. It routes each
 * request to the peer's connection, or runs it here without the network when the peer is this one.
 */
import type { Connection, PeerRouter } from '../channels/connection.js'
import { MeshscopeError } from '../errors.js'
import type { MuxStream } from '../mux/stream.js'
import { callOverConnection, openRequest, validateCallOptions, type CallOptions } from '../rpc/call.js'
import { RemoteError } from '../rpc/errors.js'
import { replyFromWire, validateName, type Request } from '../rpc/protocol.js'
import { exportedFunction } from '../rpc/remote-function.js'
import { createRemoteProxy, type Remote } from '../rpc/remote-object.js'
import { serveRequest, type CallContext, type RequestTargets } from '../rpc/serve.js'
import { MailboxRef, MailboxRegistry, type Mailbox, type MailboxHandler } from '../services/mailboxes.js'

export interface MessagingHost {
  /** This peer's id (a function: the mesh's identity is set after this object is made). */
  id(): string
  /** The connection to a joined peer; undefined when there is none. */
  connectionTo(peerId: string): Connection | undefined
  /** Opens a link on demand when there is none (the scamp topology); undefined if it cannot. */
  connect?(peerId: string): Promise<Connection | undefined>
  /** Throws MESH_CLOSED once the mesh is closing. */
  assertOpen(): void
  report(error: MeshscopeError): void
}

export class Messaging implements PeerRouter, RequestTargets {
  readonly mailboxes = new MailboxRegistry()
  #exposed = new Map<string, object>()

  constructor(private readonly host: MessagingHost) {}

  // ── the API the mesh exposes ───────────────────────────────────────────────

  register<T = unknown, R = unknown>(name: string, handler: MailboxHandler<T, R>): () => void {
    return this.mailboxes.register(name, handler)
  }

  mailbox<T = unknown>(name: string): Mailbox<T> {
    return this.mailboxes.mailbox<T>(name)
  }

  ref<T = unknown, R = unknown>(name: string): MailboxRef<T, R> {
    validateName('mailbox', name)
    return new MailboxRef<T, R>(this.host.id(), name, this)
  }

  async send(peerId: string, name: string, value: unknown): Promise<void> {
    this.host.assertOpen()
    validateName('mailbox', name)
    if (peerId === this.host.id()) {
      this.#runLocally({ kind: 'send', name, value }, {}).catch((error: unknown) => this.host.report(asMeshscopeError(error)))
      return
    }
    const connection = await this.#connection(peerId)
    await sendOverConnection(connection, { kind: 'send', name, value }, (error) => this.host.report(error))
  }

  async call(peerId: string, name: string, value: unknown, options: CallOptions = {}): Promise<unknown> {
    this.host.assertOpen()
    validateName('mailbox', name)
    validateCallOptions(options)
    if (peerId === this.host.id()) return this.#runLocally({ kind: 'call', name, value }, options)
    // A joined peer's connection is at hand: no await before the request is on its way.
    const connection = this.host.connectionTo(peerId) ?? (await this.#connection(peerId))
    return callOverConnection(connection, { kind: 'call', name, value }, options)
  }

  expose(name: string, impl: object): () => void {
    validateName('object', name)
    if (typeof impl !== 'object' || impl === null) throw new MeshscopeError('INVALID_ARGUMENT', 'expose takes an object')
    if (this.#exposed.has(name)) throw new MeshscopeError('INVALID_ARGUMENT', `"${name}" is already exposed`)
    this.#exposed.set(name, impl)
    return () => {
      if (this.#exposed.get(name) === impl) this.#exposed.delete(name)
    }
  }

  remote<T>(peerId: string, name: string, options: CallOptions = {}): Remote<T> {
    validateName('object', name)
    validateCallOptions(options)
    return createRemoteProxy<T>(async (method, args, callOptions) => {
      this.host.assertOpen()
      const request: Request = { kind: 'method', object: name, method, args }
      if (peerId === this.host.id()) return this.#runLocally(request, callOptions)
      return callOverConnection(await this.#connection(peerId), request, callOptions)
    }, options)
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

  exposedObject(name: string): object | undefined {
    return this.#exposed.get(name)
  }

  report(error: MeshscopeError): void {
    this.host.report(error)
  }

  // ── local delivery: same semantics, no encoding ────────────────────────────

  async #runLocally(request: Request, options: CallOptions): Promise<unknown> {
    const controller = new AbortController()
    const context: CallContext = { from: this.host.id(), signal: controller.signal }
    const onAbort = () => controller.abort(options.signal?.reason)
    options.signal?.addEventListener('abort', onAbort, { once: true })
    const timer =
      options.timeout === undefined
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
              return await deliver(request.value, context, request.kind === 'call')
            } catch (error) {
              if (request.kind === 'send') throw new MeshscopeError('HANDLER_FAILED', `mailbox "${request.name}" failed: ${String(error)}`, { cause: error })
              throw error instanceof MeshscopeError ? error : new RemoteError(this.host.id(), asError(error), true)
            }
          }
          case 'method': {
            const target = this.#exposed.get(request.object)
            const method = target && !Object.hasOwn(Object.prototype, request.method) ? (target as Record<string, unknown>)[request.method] : undefined
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

  async #connection(peerId: string): Promise<Connection> {
    const connection = this.host.connectionTo(peerId) ?? (await this.host.connect?.(peerId))
    this.host.assertOpen() // the mesh may have closed while this waited for a link opened on demand
    if (!connection) throw new MeshscopeError('PEER_NOT_CONNECTED', `not connected to peer ${peerId}`)
    return connection
  }
}

/**
 * A plain send: resolves once the request is handed to the link (a value that cannot travel rejects
 * here, nothing sent). The serving side closes without a reply on success; a refusal arriving later
 * (UNKNOWN_MAILBOX…) is reported.
 */
async function sendOverConnection(connection: Connection, request: Request, report: (error: MeshscopeError) => void): Promise<void> {
  const { stream, bytes } = openRequest(connection, request)
  try {
    // Closed with the request, so OPEN, request and CLOSE leave in one link message.
    const sent = stream.send(bytes)
    stream.close()
    await sent
  } catch (cause) {
    if (cause instanceof MeshscopeError && cause.code === 'ITEM_TOO_LARGE') throw cause
    throw new MeshscopeError('PEER_GONE', `${connection.peerId} went away before the message was sent`, { cause })
  }
  void (async () => {
    try {
      const bytes = await stream.receive()
      if (bytes !== null) {
        const reply = replyFromWire(connection.decode(bytes))
        if (reply.kind !== 'value')
          report(
            new MeshscopeError(reply.error instanceof MeshscopeError ? reply.error.code : 'REMOTE_ERROR', `${connection.peerId}: ${reply.error.message}`, {
              cause: reply.error,
            }),
          )
      }
    } catch {
      // the peer went away: a plain send has nobody left to tell
    }
  })()
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}

function asMeshscopeError(error: unknown): MeshscopeError {
  return error instanceof MeshscopeError ? error : new MeshscopeError('HANDLER_FAILED', String(error), { cause: error })
}
