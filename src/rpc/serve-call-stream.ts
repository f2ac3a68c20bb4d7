/**
 * The serving side of a peer's call stream (call-stream-wire.ts): reads requests one after the other,
 * as they come, and serves each at once (a handler that takes its time does not hold up the next
 * request); answers go back under the request's call id as handlers settle.
 *
 * Bounds, all on this side's terms:
 * - calls in service: at most `maxCallsInService` of one peer's requests (across its call streams)
 *   from read until their handler settles; one more is refused with TOO_MANY_REQUESTS. Each counts
 *   in the peer's inbound budget (`servingBytes`), and a request the budget has no room for is
 *   refused too, unless none of the peer's calls is in service (head of line: one always goes on).
 * - answers the peer does not read: while more than REPLY_BACKLOG_BYTES of answers wait for the
 *   link (the peer withholds credit), no further request is read, so the peer's own credit stops it.
 * - call ids only grow: a repeated or older id, or a malformed message, resets the stream (every
 *   call on it fails at the caller; handlers in service see their signal abort). A cancel for an
 *   id not in service is ignored.
 */
import type { Connection } from '../channels/connection.js'
import { MeshscopeError, isMeshscopeError } from '../errors.js'
import type { MuxStream } from '../mux/stream.js'
import { CALL_HEADER_BYTES, CallStreamAnswer, CallStreamMessage, callHeader, readCallHeader } from './call-stream-wire.js'
import { requestFromWire, type Reply, type Request } from './protocol.js'
import type { RequestTargets } from './serve.js'
import { DEFAULT_SERVE_LIMITS } from './serve-limits.js'
import { ServeContext, encodeReply, resolveTarget, runCall, runSend } from './serve-target.js'

/** Answers waiting for the link past which the next request is not read. */
export const REPLY_BACKLOG_BYTES = 64 * 1024

/** Each connection's calls in service, across its call streams. */
const callsInService = new WeakMap<Connection, { count: number }>()

/** The calls of `connection`'s peer in service now (for tests). */
export function callsInServiceOf(connection: Connection): number {
  return callsInService.get(connection)?.count ?? 0
}

/** Serves a call stream the peer opened until it ends; `first` is its first message when the caller already read it. */
export async function serveCallStream(connection: Connection, stream: MuxStream, targets: RequestTargets, first?: Uint8Array): Promise<void> {
  const server = new CallStreamServer(connection, stream, targets)
  let message = first
  for (;;) {
    if (message === undefined) {
      if (stream.queuedBytes > REPLY_BACKLOG_BYTES) await server.repliesWritten()
      try {
        const next = await stream.receive()
        if (next === null) break
        message = next
      } catch (error) {
        // One request over the item limit is dropped (no id to answer); the stream goes on.
        if (isMeshscopeError(error, 'ITEM_TOO_LARGE')) {
          targets.report(new MeshscopeError('BAD_MESSAGE', `a request from ${server.from} is over the item limit: ${error.message}`))
          continue
        }
        break
      }
    }
    const goOn = server.onMessage(message)
    message = undefined
    if (!goOn) break
  }
  server.readingEnded()
}

class CallStreamServer {
  readonly from: string
  readonly #limit: number
  readonly #peer: { count: number }
  /** Handlers in service whose caller still waits for the answer, by call id. */
  readonly #waiting = new Map<number, ServeContext>()
  #lastId = 0
  #readingEnded = false
  #lastSend: Promise<void> = Promise.resolve()

  constructor(
    private readonly connection: Connection,
    private readonly stream: MuxStream,
    private readonly targets: RequestTargets,
  ) {
    this.from = connection.peerId ?? 'unknown'
    this.#limit = (targets.serveLimits ?? DEFAULT_SERVE_LIMITS).maxCallsInService
    let peer = callsInService.get(connection)
    if (!peer) callsInService.set(connection, (peer = { count: 0 }))
    this.#peer = peer
    // The stream failing (reset, the session lost) aborts the handler of every call on it.
    stream.onSendEnd((reason, error) => {
      if (reason === 'closed') return
      for (const context of this.#waiting.values()) context.abort(error)
      this.#waiting.clear()
    })
  }

  /** Resolves once the answers queued so far are written (or failed). */
  repliesWritten(): Promise<void> {
    return this.#lastSend
  }

  /** The caller closed its side (or the stream failed): our side closes once every waiting call is answered. */
  readingEnded(): void {
    this.#readingEnded = true
    this.#closeIfDone()
  }

  /** Handles one message; false when it broke the protocol (the stream was reset). */
  onMessage(message: Uint8Array): boolean {
    const header = readCallHeader(message)
    if (!header || header.type > CallStreamMessage.cancel || (header.type === CallStreamMessage.cancel && message.byteLength !== CALL_HEADER_BYTES)) {
      this.stream.reset('protocolError', 'a malformed message on the call stream')
      return false
    }
    const { type, id } = header
    if (type === CallStreamMessage.cancel) {
      const context = this.#waiting.get(id)
      if (context) {
        this.#waiting.delete(id)
        context.abort(() => new MeshscopeError('ABORTED', `${this.from} gave up on the call`))
        this.#closeIfDone()
      }
      return true
    }
    if (id <= this.#lastId) {
      this.stream.reset('protocolError', `call id ${id} after ${this.#lastId}: call ids must grow`)
      return false
    }
    this.#lastId = id
    const budget = this.connection.session.inboundBudget
    if (this.#peer.count >= this.#limit) {
      this.#refuse(id, `${this.from} has ${this.#limit} requests in service here, the most allowed`)
    } else if (this.#peer.count > 0 && !budget.mayHold(message.byteLength)) {
      this.#refuse(id, `the inbound budget for ${this.from} has no room for another request`)
    } else this.#serve(id, message)
    return true
  }

  #refuse(id: number, message: string): void {
    this.#answer(id, { kind: 'refused', error: new MeshscopeError('TOO_MANY_REQUESTS', message) })
  }

  /** Serves the request under `id`: in service (counted, in the budget) until its handler settles. */
  #serve(id: number, message: Uint8Array): void {
    const budget = this.connection.session.inboundBudget
    let held = message.byteLength
    this.#peer.count++
    budget.hold('serving', held)
    const done = () => {
      this.#peer.count--
      budget.hold('serving', -held)
      this.#waiting.delete(id)
      this.#closeIfDone()
    }
    let request: Request
    try {
      request = requestFromWire(this.connection.decode(message.subarray(CALL_HEADER_BYTES)))
    } catch (error) {
      const refusal =
        error instanceof MeshscopeError ? error : new MeshscopeError('BAD_MESSAGE', `a request from ${this.from} could not be read`, { cause: error })
      this.targets.report(refusal)
      this.#answer(id, { kind: 'refused', error: refusal })
      return done()
    }
    // What the decoded value costs beyond its bytes (its entries as JS values) is in service too.
    const decodedExtra = this.connection.codec.lastDecodedOverheadBytes
    held += decodedExtra
    budget.hold('serving', decodedExtra)
    const context = new ServeContext(this.from, this.targets.principalOf?.(this.from))
    this.#waiting.set(id, context)
    const run = resolveTarget(this.connection, request, this.targets, message.byteLength - CALL_HEADER_BYTES)
    if (run instanceof MeshscopeError) {
      // A refusal is the sender's news (its send or call rejects with the code), not ours.
      this.#answer(id, { kind: 'refused', error: run })
      return done()
    }
    if (request.kind === 'send') {
      const accepted = runSend(() => run(context), request.name, this.from, this.targets)
      if (accepted instanceof MeshscopeError) {
        this.#answer(id, { kind: 'refused', error: accepted })
        return done()
      }
      this.#answer(id, null)
      this.#waiting.delete(id) // answered: a cancel now comes too late to mean anything
      void accepted.then(done)
      return
    }
    const outcome = runCall(run, context)
    if (!(outcome instanceof Promise)) {
      this.#answer(id, outcome)
      return done()
    }
    void outcome.then((reply) => {
      if (this.#waiting.has(id)) this.#answer(id, reply)
      done()
    })
  }

  /** Answers the call under `id` (null: a send accepted), unless the stream is gone. */
  #answer(id: number, reply: Reply | null): void {
    if (this.stream.isReleased) return
    if (reply === null) {
      this.#send(callHeader(CallStreamAnswer.accepted, id))
      return
    }
    const bytes = encodeReply(this.connection, reply, this.stream.sendLimit - CALL_HEADER_BYTES)
    this.#send([callHeader(CallStreamAnswer.reply, id), bytes])
  }

  #send(message: Uint8Array | Uint8Array[]): void {
    const sent = this.stream.send(message)
    sent.catch(() => {}) // the caller went away: nobody to tell
    this.#lastSend = sent.catch(() => {})
  }

  #closeIfDone(): void {
    if (this.#readingEnded && this.#waiting.size === 0) this.stream.close()
  }
}
