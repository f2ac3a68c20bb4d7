/**
 * The calling side of a request: one request stream per call or send, which the caller closes right
 * after the request (so a call costs one link message each way). Settles on the reply (a send: on
 * the acceptance), on abort or timeout — by default after DEFAULT_CALL_TIMEOUT_MS; the stream is
 * reset, which aborts the handler's signal on the other side —, or when the peer goes away
 * (PEER_GONE, or the distinct codes of delivery-errors.ts) — never hangs.
 */
import type { Connection } from '../channels/connection.js'
import { MeshscopeError, isMeshscopeError } from '../errors.js'
import { RemoteError } from './errors.js'
import type { MuxStream } from '../mux/stream.js'
import { deliveryError } from './delivery-errors.js'
import { replyFromWire, requestToWire, type Reply, type Request } from './protocol.js'

/** How long a call, hop or send waits for the peer's answer unless told otherwise (the mesh's `callTimeoutMs`). */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000

/** The default timeout of requests made over a connection, when its mesh chose one (`callTimeoutMs`). */
const connectionTimeouts = new WeakMap<Connection, number>()

/**
 * Sets the default timeout of every request over `connection` that does not give its own: the
 * mesh's `callTimeoutMs`, so remote functions received over it wait no longer than its calls.
 */
export function setDefaultCallTimeout(connection: Connection, timeoutMs: number): void {
  connectionTimeouts.set(connection, timeoutMs)
}

export interface CallOptions {
  /**
   * Gives up after this many milliseconds (TIMEOUT); the remote handler's signal aborts. `Infinity`
   * waits as long as the peer is there.
   * @default the mesh's `callTimeoutMs` (30_000)
   */
  timeout?: number
  /** Gives up when aborted (ABORTED); the remote handler's signal aborts. */
  signal?: AbortSignal
}

export function validateCallOptions(options: CallOptions | undefined): void {
  if (options?.timeout !== undefined && !isTimeoutMs(options.timeout)) {
    throw new MeshscopeError('INVALID_ARGUMENT', 'timeout must be a positive number of milliseconds, or Infinity')
  }
}

/** A positive number of milliseconds, or Infinity (no timeout). */
export function isTimeoutMs(value: unknown): value is number {
  return typeof value === 'number' && value > 0
}

/** Sends a request and waits for its reply. */
export async function callOverConnection(connection: Connection, request: Request, options: CallOptions = {}): Promise<unknown> {
  const reply = await exchange(connection, request, options, 'call')
  if (reply === null) throw new MeshscopeError('PEER_GONE', `${connection.peerId ?? 'the peer'} closed the call without a reply`)
  return settle(reply, connection.peerId ?? 'the peer')
}

/**
 * A plain send: resolves once the peer accepted the message (its mailbox took it: a handler was
 * invoked, or the message was queued within the mailbox's bounds), which the serving side says by
 * closing the stream without a reply. A refusal (UNKNOWN_MAILBOX, MAILBOX_FULL, TOO_MANY_STREAMS…)
 * rejects with its code; see delivery-errors.ts for a lost stream or session.
 */
export async function sendOverConnection(connection: Connection, request: Request, options: CallOptions = {}): Promise<void> {
  const reply = await exchange(connection, request, options, 'send')
  // An answer with a value is a peer that replies to sends (none does today): accepted as well.
  if (reply !== null) settle(reply, connection.peerId ?? 'the peer')
}

/**
 * Writes a request and waits for the serving side's answer: a reply, or null when it closed without
 * one. Gives up on the signal or the timeout (the stream is reset, which aborts the handler's signal
 * on the other side and releases the stream here).
 */
async function exchange(connection: Connection, request: Request, options: CallOptions, kind: 'send' | 'call'): Promise<Reply | null> {
  validateCallOptions(options)
  if (options.signal?.aborted) throw abortedError(options.signal)
  const peerId = connection.peerId ?? 'the peer'
  const { stream, bytes } = openRequest(connection, request, kind)

  // Closing our side right away lets OPEN, the request and CLOSE leave in one link message; the
  // serving side still learns of a give-up, which resets the stream.
  const sent = stream.send(bytes)
  stream.close()
  const answered = receiveAnswer(connection, stream, sent)
  const timeout = options.timeout ?? connectionTimeouts.get(connection) ?? DEFAULT_CALL_TIMEOUT_MS
  if (!options.signal && timeout === Number.POSITIVE_INFINITY) {
    try {
      return await answered
    } catch (error) {
      throw deliveryError(error, connection, kind)
    }
  }

  let giveUp!: (error: MeshscopeError) => void
  const givenUp = new Promise<never>((_, reject) => (giveUp = reject))
  const onAbort = () => giveUp(abortedError(options.signal!))
  options.signal?.addEventListener('abort', onAbort, { once: true })
  const timer =
    timeout === Number.POSITIVE_INFINITY
      ? undefined
      : setTimeout(() => giveUp(new MeshscopeError('TIMEOUT', `no answer from ${peerId} within ${timeout} ms`)), timeout)
  try {
    return await Promise.race([answered, givenUp])
  } catch (error) {
    answered.catch(() => {})
    // Giving up resets the stream, which aborts the handler's signal on the other side.
    if (isMeshscopeError(error, 'TIMEOUT') || isMeshscopeError(error, 'ABORTED')) stream.reset('closed', 'the caller gave up')
    throw deliveryError(error, connection, kind)
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', onAbort)
  }
}

/**
 * A request stream and the request's bytes, for a call or a plain send. Throws what delivery-errors.ts
 * makes of a session that is over (MESH_CLOSED after the peer's GOAWAY, PEER_GONE…), or the codec's
 * error when the request cannot travel (the stream is reset then).
 */
export function openRequest(connection: Connection, request: Request, kind: 'send' | 'call'): { stream: MuxStream; bytes: Uint8Array } {
  let stream: MuxStream
  try {
    stream = connection.session.openStream('request')
  } catch (cause) {
    throw deliveryError(cause, connection, kind)
  }
  try {
    return { stream, bytes: connection.encode(requestToWire(request)) }
  } catch (error) {
    stream.reset('closed', 'the request could not be encoded')
    throw error
  }
}

/** The answer on a request stream whose request is on its way (`sent` rejects if it could not go): a reply, or null (closed without one). */
async function receiveAnswer(connection: Connection, stream: MuxStream, sent: Promise<void>): Promise<Reply | null> {
  const receiving = stream.receive()
  try {
    await sent
  } catch (error) {
    receiving.catch(() => {})
    throw error
  }
  const reply = await receiving
  if (reply === null) return null
  void stream.receive().catch(() => {}) // the serving side's CLOSE
  return replyFromWire(connection.decode(reply))
}

/** The caller's result: the value, or the refusal or remote error thrown. */
function settle(reply: Reply, peerId: string): unknown {
  if (reply.kind === 'value') return reply.value
  if (reply.kind === 'refused') throw new MeshscopeError(reply.error.code, `${peerId}: ${reply.error.message}`, { cause: reply.error })
  throw new RemoteError(peerId, reply.error, stackWasSent(reply.error))
}

function abortedError(signal: AbortSignal): MeshscopeError {
  return new MeshscopeError('ABORTED', 'the call was aborted', { cause: signal.reason })
}

/** The codec rebuilds a stack-less remote error with only its `name: message` line. */
function stackWasSent(error: Error): boolean {
  return typeof error.stack === 'string' && error.stack.includes('\n')
}
