/**
 * The serving side of request streams: reads the one request, finds what it addresses (a mailbox, a
 * remote function this connection exported, an exposed object's method), runs it with a context
 * whose AbortSignal aborts if the caller gives up or goes away, and writes the reply.
 *
 * A request in service counts in the peer's inbound budget (src/mux/inbound-budget.ts, `servingBytes`)
 * from when it is read until its handler settles (a call: its reply written; a send: the mailbox took
 * it and a handler's promise settled). A new request is read only when the budget has room for one
 * more window, or when none of the peer's requests is in service (head of line: one always goes on);
 * else it waits, and its caller's timeout bounds the wait. A request that has not fully arrived
 * within `requestReadTimeoutMs` of its stream's opening is reset (serve-limits.ts).
 */
import type { Connection } from '../channels/connection.js'
import { MeshscopeError, isMeshscopeError } from '../errors.js'
import type { InboundBudget } from '../mux/inbound-budget.js'
import type { MuxStream } from '../mux/stream.js'
import { endAfterOneMessage } from './one-message.js'
import { requestFromWire, type Reply, type Request } from './protocol.js'
import { ServeContext, encodeReply, resolveTarget, runCall, runSend } from './serve-target.js'
import { serveCallStream } from './serve-call-stream.js'
import { DEFAULT_SERVE_LIMITS, type ServeLimits } from './serve-limits.js'
import type { Principal } from '../identity/principal.js'

/** What a handler learns about the call it serves. */
export interface CallContext {
  /** The verified id of the calling peer. */
  from: string
  /**
   * The caller's principal, verified from its server-signed attestation (a room with auth); absent
   * in a room without auth, or when the caller's attestation has expired unrenewed. Never invented.
   */
  principal?: Principal | undefined
  /** Aborts when the caller gives up (abort, timeout) or goes away. */
  signal: AbortSignal
}

/** Where requests are routed; the mesh provides it. */
export interface RequestTargets {
  /**
   * Runs mailbox `name` with the value (`bytes`: the size of the request that carried it, for the
   * mailbox's bounds); returns or resolves with the reply (ignored for plain sends). Throws a
   * MeshscopeError, synchronously, to refuse the message (MAILBOX_FULL). Undefined if no such mailbox.
   */
  mailboxHandler(name: string): ((value: unknown, context: CallContext, expectsReply: boolean, bytes: number) => unknown) | undefined
  /** The remote function exported on this connection under that id (an error: it refuses, e.g. WITHDRAWN). */
  exportedFunction(connection: Connection, id: number): ((args: unknown[], context: CallContext) => unknown) | MeshscopeError | undefined
  /** The object exposed under `name` (an error: it refuses, e.g. WITHDRAWN). */
  exposedObject(name: string): object | MeshscopeError | undefined
  /** Failures nobody waits for (a plain send's handler threw, a malformed request). */
  report(error: MeshscopeError): void
  /** The verified principal of a peer now, if it has one (absent: no principals, as in a room without auth). */
  principalOf?(peerId: string): Principal | undefined
  /** How long a request may take to arrive (default DEFAULT_SERVE_LIMITS); the mesh's limits. */
  readonly serveLimits?: ServeLimits
}

/** Serves one request stream; `first` is its first message when the caller already read it (to route it). */
export async function serveRequest(connection: Connection, stream: MuxStream, targets: RequestTargets, first?: Uint8Array): Promise<void> {
  if (stream.purpose === 'calls') return serveCallStream(connection, stream, targets, first)
  const budget = connection.session.inboundBudget
  let bytes: Uint8Array | null
  try {
    if (first) budget.hold('serving', first.byteLength)
    bytes = first ?? (await readRequest(connection, stream, targets.serveLimits ?? DEFAULT_SERVE_LIMITS))
  } catch (error) {
    return refuseUnread(connection, stream, targets, error)
  }
  if (bytes === null) return stream.close()
  // In service (counted in the peer's budget since it was read) until the handler settles.
  const requestBytes = bytes.byteLength
  try {
    await serveRead(connection, stream, targets, bytes)
  } finally {
    budget.hold('serving', -requestBytes)
  }
}

/**
 * Reads the request once the peer's budget lets it in — room for one more window, or none of the
 * peer's requests in service — within `requestReadTimeoutMs` of now; past it the stream is reset.
 * The request is counted as in service before the read's reservation goes, so no other read is let
 * in on the room it took.
 */
async function readRequest(connection: Connection, stream: MuxStream, limits: ServeLimits): Promise<Uint8Array | null> {
  const budget = connection.session.inboundBudget
  const timeoutMs = limits.requestReadTimeoutMs
  const deadline = setTimeout(() => stream.reset('closed', `the request did not arrive within ${timeoutMs} ms`), timeoutMs)
  try {
    // Nothing reserved until the request starts to arrive (the deadline runs meanwhile).
    await Promise.race([stream.readable(), connection.ended])
    const windowBytes = stream.receiveWindow
    // Head of line: the oldest request read while none of the peer's requests is in service.
    const mayOverdraw = () => {
      const oldest = budget.oldestRead('serving')
      return budget.delivered('serving') === 0 && (oldest === undefined || oldest === stream)
    }
    const waiting = budget.startRead(stream, 'serving', windowBytes, mayOverdraw)
    if (waiting) {
      const gone = new Promise<void>((resolve) => stream.onSendEnd(() => resolve()))
      await Promise.race([waiting.admitted, gone, connection.ended])
      // Reset (by the deadline or the caller) or disconnected while waiting: `receive` fails at once.
      if (waiting.cancel()) return inService(budget, await stream.receive())
    }
    try {
      return inService(budget, await stream.receive())
    } finally {
      budget.endRead(stream)
    }
  } finally {
    clearTimeout(deadline)
  }
}

function inService(budget: InboundBudget, bytes: Uint8Array | null): Uint8Array | null {
  if (bytes) budget.hold('serving', bytes.byteLength)
  return bytes
}

function refuseUnread(connection: Connection, stream: MuxStream, targets: RequestTargets, error: unknown): Promise<void> {
  const from = connection.peerId ?? 'unknown'
  const refusal = error instanceof MeshscopeError ? error : new MeshscopeError('BAD_MESSAGE', `a request from ${from} could not be read`, { cause: error })
  targets.report(refusal)
  if (isMeshscopeError(error, 'DISCONNECTED') || isMeshscopeError(error, 'STREAM_RESET')) return Promise.resolve()
  return answer(connection, stream, { kind: 'refused', error: refusal })
}

/** Serves a request that was read: decodes it, runs its target, answers. */
async function serveRead(connection: Connection, stream: MuxStream, targets: RequestTargets, bytes: Uint8Array): Promise<void> {
  let request: Request
  const requestBytes = bytes.byteLength
  try {
    request = requestFromWire(connection.decode(bytes))
  } catch (error) {
    return refuseUnread(connection, stream, targets, error)
  }
  // What the decoded value costs beyond its bytes (its entries as JS values) is in service too.
  const budget = connection.session.inboundBudget
  const decodedExtra = connection.codec.lastDecodedOverheadBytes
  budget.hold('serving', decodedExtra)
  try {
    await serveDecoded(connection, stream, targets, request, requestBytes)
  } finally {
    budget.hold('serving', -decodedExtra)
  }
}

async function serveDecoded(connection: Connection, stream: MuxStream, targets: RequestTargets, request: Request, requestBytes: number): Promise<void> {
  const from = connection.peerId ?? 'unknown'

  const context = new ServeContext(from, targets.principalOf?.(from))
  // The caller closed its side with the request; a reset (it gave up) or a lost session ends our
  // sending side before the reply does.
  stream.onSendEnd((reason, error) => {
    if (reason !== 'closed') context.abort(error)
  })
  endAfterOneMessage(stream) // the caller's CLOSE came with the request
  const run = resolveTarget(connection, request, targets, requestBytes)
  if (run instanceof MeshscopeError) {
    // A refusal is the sender's news (its send or call rejects with the code), not ours.
    await answer(connection, stream, { kind: 'refused', error: run })
    return
  }
  if (request.kind === 'send') return acceptSend(connection, stream, request.name, () => run(context), targets)
  const outcome = runCall(run, context)
  const reply = outcome instanceof Promise ? await outcome : outcome
  await answer(connection, stream, reply)
}

/**
 * A plain send is accepted once its mailbox took it — the handler was invoked, or a mailbox object
 * queued it — and the acceptance is the stream's CLOSE without a reply: the sender's `send`
 * resolves on it. A refusal thrown synchronously (MAILBOX_FULL) is answered instead. What the handler
 * does afterwards is this side's business: a failure is reported here (HANDLER_FAILED).
 */
async function acceptSend(connection: Connection, stream: MuxStream, name: string, run: () => unknown, targets: RequestTargets): Promise<void> {
  const outcome = runSend(run, name, connection.peerId ?? 'unknown', targets)
  if (outcome instanceof MeshscopeError) return answer(connection, stream, { kind: 'refused', error: outcome })
  stream.close()
  // The request stays in service (in the peer's budget) until the handler's promise settles.
  await outcome
}

async function answer(connection: Connection, stream: MuxStream, reply: Reply): Promise<void> {
  const bytes = encodeReply(connection, reply, stream.sendLimit)
  // Closing before awaiting lets the reply and its CLOSE leave in one link message.
  const sent = stream.send(bytes)
  stream.close()
  await sent.catch(() => {}) // the caller gave up or went away: nobody to tell
}
