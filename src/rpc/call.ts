/**
 * The calling side of a request: one request stream per call or send, which the caller closes right
 * after the request (so a call costs one link message each way). Settles on the reply (a send: on
 * the acceptance), on abort or timeout — by default after DEFAULT_CALL_TIMEOUT_MS; the stream is
 * reset, which aborts the handler's signal on the other side —, or when the peer goes away
 * (PEER_GONE, or the distinct codes of delivery-errors.ts) — never hangs.
 */
import type { Connection } from '../channels/connection.js'
import { MeshscopeError } from '../errors.js'
import { RemoteError } from './errors.js'
import type { MuxStream } from '../mux/stream.js'
import { deliveryError } from './delivery-errors.js'
import { DEFAULT_MAX_REQUESTS_IN_FLIGHT, RequestSlots, type ReleaseSlot } from './request-slots.js'
import { replyFromWire, requestToWire, type Reply, type Request } from './protocol.js'
import { endAfterOneMessage } from './one-message.js'

/** How long a call, hop or send waits for the peer's answer unless told otherwise (the mesh's `callTimeoutMs`). */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000

/** How requests over one connection behave unless a request says otherwise (`configureRequests`). */
export interface RequestSettings {
  /**
   * How long a request waits for its answer, the wait for a slot included.
   * @default DEFAULT_CALL_TIMEOUT_MS (30_000)
   */
  timeoutMs?: number
  /**
   * Requests in flight to the peer at once; more wait for a slot (request-slots.ts).
   * @default DEFAULT_MAX_REQUESTS_IN_FLIGHT (256)
   */
  maxInFlight?: number
}

interface ConnectionRequests {
  timeoutMs: number
  slots: RequestSlots
}

/** Each connection's request settings, made on first use with the defaults unless configured. */
const connectionRequests = new WeakMap<Connection, ConnectionRequests>()

/**
 * Sets how requests over `connection` behave — the mesh's `callTimeoutMs` and `maxRequestsInFlight`
 * — so remote functions received over it follow them as its calls do. Call before the first request.
 */
export function configureRequests(connection: Connection, settings: RequestSettings): void {
  connectionRequests.set(connection, {
    timeoutMs: settings.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
    slots: new RequestSlots(settings.maxInFlight ?? DEFAULT_MAX_REQUESTS_IN_FLIGHT),
  })
}

function requestsOf(connection: Connection): ConnectionRequests {
  let requests = connectionRequests.get(connection)
  if (!requests) {
    requests = { timeoutMs: DEFAULT_CALL_TIMEOUT_MS, slots: new RequestSlots(DEFAULT_MAX_REQUESTS_IN_FLIGHT) }
    connectionRequests.set(connection, requests)
  }
  return requests
}

/** The requests to `connection`'s peer holding a slot and waiting for one (for stats and tests). */
export function requestSlotsOf(connection: Connection): { inFlight: number; waiting: number } {
  const { slots } = requestsOf(connection)
  return { inFlight: slots.inFlight, waiting: slots.waiting }
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
function exchange(connection: Connection, request: Request, options: CallOptions, kind: 'send' | 'call'): Promise<Reply | null> {
  validateCallOptions(options)
  if (options.signal?.aborted) return Promise.reject(abortedError(options.signal))
  const requests = requestsOf(connection)
  const timeout = options.timeout ?? requests.timeoutMs
  // A free slot (the common case) is taken without an await, so the request leaves at once.
  const release = requests.slots.tryAcquire()
  if (release) return exchangeInSlot(connection, request, options, kind, timeout, release)
  return exchangeAfterSlot(connection, request, options, kind, timeout)
}

/** Past the limit, the request waits for a slot; its timeout and signal run meanwhile. */
async function exchangeAfterSlot(
  connection: Connection,
  request: Request,
  options: CallOptions,
  kind: 'send' | 'call',
  timeout: number,
): Promise<Reply | null> {
  const waitStarted = Date.now()
  let giveUp!: (error: MeshscopeError) => void
  const givenUp = new Promise<never>((_, reject) => (giveUp = reject))
  givenUp.catch(() => {})
  const onAbort = () => giveUp(abortedError(options.signal!))
  options.signal?.addEventListener('abort', onAbort, { once: true })
  const timer = timeout === Number.POSITIVE_INFINITY ? undefined : setTimeout(() => giveUp(timeoutError(connection, timeout)), timeout)
  let release: ReleaseSlot
  try {
    release = await requestsOf(connection).slots.acquire(givenUp)
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', onAbort)
  }
  if (options.signal?.aborted) {
    release()
    throw abortedError(options.signal)
  }
  const left = timeout === Number.POSITIVE_INFINITY ? timeout : Math.max(1, timeout - (Date.now() - waitStarted))
  return exchangeInSlot(connection, request, options, kind, left, release, timeout)
}

/**
 * Opens the request's stream, writes the request and settles one promise on whichever comes first:
 * the answer, the timeout, the signal (both reset the stream) or the stream's failure. One promise
 * and no race per call: on a cold process every promise hop on this path runs in the interpreter.
 */
function exchangeInSlot(
  connection: Connection,
  request: Request,
  options: CallOptions,
  kind: 'send' | 'call',
  timeout: number,
  release: ReleaseSlot,
  /** The caller's whole timeout, for the message (`timeout` is what is left of it after a wait for a slot). */
  wholeTimeout = timeout,
): Promise<Reply | null> {
  let stream: MuxStream
  let bytes: Uint8Array
  try {
    ;({ stream, bytes } = openRequest(connection, request, kind))
  } catch (error) {
    release()
    return Promise.reject(deliveryError(error, connection, kind))
  }
  const { signal } = options
  return new Promise<Reply | null>((resolve, reject) => {
    let settled = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const settle = (): boolean => {
      if (settled) return false
      settled = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      release()
      return true
    }
    const fail = (error: unknown) => {
      if (settle()) reject(deliveryError(error, connection, kind))
    }
    // Giving up resets the stream, which aborts the handler's signal on the other side.
    const giveUp = (error: MeshscopeError) => {
      if (!settle()) return
      stream.reset('closed', 'the caller gave up')
      reject(error)
    }
    const onAbort = () => giveUp(abortedError(signal!))
    signal?.addEventListener('abort', onAbort, { once: true })
    if (timeout !== Number.POSITIVE_INFINITY) timer = setTimeout(() => giveUp(timeoutError(connection, wholeTimeout)), timeout)
    // Closing our side right away lets OPEN, the request and CLOSE leave in one link message; the
    // serving side still learns of a give-up, which resets the stream.
    let sendFailed = false
    const sent = stream.send(bytes)
    stream.close()
    sent.catch((error: unknown) => {
      sendFailed = true
      fail(error)
    })
    stream.receive().then(
      (answer) => {
        if (settled) return
        if (answer === null) {
          settle()
          resolve(null)
          return
        }
        endAfterOneMessage(stream) // the serving side's CLOSE came with the reply
        let reply: Reply
        try {
          reply = replyFromWire(connection.decode(answer))
        } catch (error) {
          fail(error)
          return
        }
        settle()
        resolve(reply)
      },
      // A request that could not go fails with the send's error, as the stream's failure follows from it.
      (error: unknown) => {
        if (sendFailed) return
        sent.then(
          () => fail(error),
          () => {},
        )
      },
    )
  })
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

function timeoutError(connection: Connection, timeout: number): MeshscopeError {
  return new MeshscopeError('TIMEOUT', `no answer from ${connection.peerId ?? 'the peer'} within ${timeout} ms`)
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
