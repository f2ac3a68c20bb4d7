/**
 * Named mailboxes: `register(name, handler)` on one peer, `send(peer, name, value)` from another —
 * the minimal addressing that lets a value (channel halves inside included) reach a handler on
 * another peer. Each send opens one request stream:
 *
 *   sender → receiver   [name, value]          then CLOSE
 *   receiver → sender   [1, error] (optional)  then CLOSE
 *
 * An unknown name is answered with UNKNOWN_MAILBOX, which the sender reports on its `error` event
 * (a plain send does not wait for it). Request/reply on the same stream is where `call` will go.
 */
import { MeshscopeError, isMeshscopeError } from '../errors.js'
import type { Connection } from '../channels/connection.js'
import type { MuxStream } from '../mux/stream.js'

export interface MailboxContext {
  /** The verified id of the peer that sent the message (this peer's own id for a local send). */
  from: string
}

export type MailboxHandler<T = unknown> = (value: T, context: MailboxContext) => void | Promise<void>

const MAX_NAME_LENGTH = 128
const REPLY_ERROR = 1

export function validateMailboxName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) {
    throw new MeshscopeError('INVALID_ARGUMENT', `a mailbox name is a string of 1..${MAX_NAME_LENGTH} characters`)
  }
}

export class Mailboxes {
  #handlers = new Map<string, MailboxHandler>()

  constructor(private readonly report: (error: MeshscopeError) => void) {}

  register<T>(name: string, handler: MailboxHandler<T>): () => void {
    validateMailboxName(name)
    if (typeof handler !== 'function') throw new MeshscopeError('INVALID_ARGUMENT', 'a mailbox handler must be a function')
    if (this.#handlers.has(name)) throw new MeshscopeError('INVALID_ARGUMENT', `mailbox "${name}" is already registered`)
    this.#handlers.set(name, handler as MailboxHandler)
    return () => {
      if (this.#handlers.get(name) === handler) this.#handlers.delete(name)
    }
  }

  /** Delivers to a handler on this peer, without the network. */
  deliverLocally(name: string, value: unknown, from: string): void {
    const handler = this.#handlers.get(name)
    if (!handler) {
      this.report(new MeshscopeError('UNKNOWN_MAILBOX', `no mailbox "${name}" on this peer`))
      return
    }
    queueMicrotask(() => this.#run(handler, name, value, from))
  }

  /** Sends `[name, value]` on a new request stream. Resolves once the message was handed to the link. */
  async send(connection: Connection, name: string, value: unknown): Promise<void> {
    const stream = connection.session.openStream('request')
    let bytes: Uint8Array
    try {
      bytes = connection.encode([name, value])
    } catch (error) {
      stream.reset('closed', 'the message could not be encoded')
      throw error
    }
    try {
      await stream.send(bytes)
    } catch (error) {
      stream.reset('closed')
      throw error
    }
    stream.close()
    void this.#readReply(connection, stream, name)
  }

  /** Serves a request stream the peer opened. */
  async serve(connection: Connection, stream: MuxStream): Promise<void> {
    const from = connection.peerId ?? 'unknown'
    let bytes: Uint8Array | null
    try {
      bytes = await stream.receive()
    } catch (error) {
      if (isMeshscopeError(error, 'ITEM_TOO_LARGE')) this.#answer(connection, stream, error)
      else stream.reset('protocolError')
      this.report(asError(error, `a message from ${from} could not be received`))
      return
    }
    if (bytes === null) return stream.close()
    let name: string
    let value: unknown
    try {
      const decoded = connection.decode(bytes)
      if (!Array.isArray(decoded) || decoded.length !== 2) throw new MeshscopeError('BAD_MESSAGE', 'a mailbox message is [name, value]')
      validateMailboxName(decoded[0])
      ;[name, value] = decoded as [string, unknown]
    } catch (error) {
      const refusal = asError(error, `a mailbox message from ${from} could not be decoded`)
      this.#answer(connection, stream, refusal)
      this.report(refusal)
      return
    }
    void stream.receive().catch(() => {}) // the sender's CLOSE
    const handler = this.#handlers.get(name)
    if (!handler) {
      this.#answer(connection, stream, new MeshscopeError('UNKNOWN_MAILBOX', `no mailbox "${name}" on the receiving peer`))
      return
    }
    stream.close()
    await this.#run(handler, name, value, from)
  }

  async #run(handler: MailboxHandler, name: string, value: unknown, from: string): Promise<void> {
    try {
      await handler(value, { from })
    } catch (cause) {
      this.report(new MeshscopeError('HANDLER_FAILED', `mailbox "${name}" failed on a message from ${from}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause }))
    }
  }

  #answer(connection: Connection, stream: MuxStream, error: MeshscopeError): void {
    let bytes: Uint8Array
    try {
      bytes = connection.encode([REPLY_ERROR, error])
    } catch {
      bytes = connection.encode([REPLY_ERROR, new MeshscopeError(error.code, error.message)])
    }
    stream.send(bytes).catch(() => {})
    stream.close()
  }

  async #readReply(connection: Connection, stream: MuxStream, name: string): Promise<void> {
    try {
      const reply = await stream.receive()
      if (reply === null) return
      const decoded = connection.decode(reply)
      if (Array.isArray(decoded) && decoded[0] === REPLY_ERROR && decoded[1] instanceof MeshscopeError) {
        this.report(new MeshscopeError(decoded[1].code, `peer ${connection.peerId} refused a message to "${name}": ${decoded[1].message}`, { cause: decoded[1] }))
      }
      await stream.receive()
    } catch {
      // the peer went away: a plain send has nobody left to tell
    }
  }
}

function asError(error: unknown, fallback: string): MeshscopeError {
  return error instanceof MeshscopeError ? error : new MeshscopeError('BAD_MESSAGE', fallback, { cause: error })
}
