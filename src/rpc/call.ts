/**
 * The calling side of a request. One that fits one frame travels on the peer's call stream
 * (call-stream.ts) under a call id; a larger one on a request stream of its own, which the caller
 * closes right after the request. Either way a call costs one link message each way. Settles on the
 * reply (a send: on the acceptance), on abort or timeout — by default after DEFAULT_CALL_TIMEOUT_MS;
 * the server is told (a cancel on the call stream, a reset of the request stream), which aborts the
 * handler's signal there —, or when the peer goes away (PEER_GONE, or the distinct codes of
 * delivery-errors.ts) — never hangs.
 */
import type { Connection } from '../channels/connection.js'
import { MeshscopeError } from '../errors.js'
import { RemoteError } from './errors.js'
import type { MuxStream } from '../mux/stream.js'
import { deliveryError } from './delivery-errors.js'
import { DEFAULT_MAX_REQUESTS_IN_FLIGHT, RequestSlots, type ReleaseSlot } from './request-slots.js'
import { replyFromWire, requestToWire, type Reply, type Request } from './protocol.js'
import { endAfterOneMessage } from './one-message.js'
import { CallStream } from './call-stream.js'

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
   * @default DEFAULT_MAX_REQUESTS_IN_FLIGHT (255)
   */
  maxInFlight?: number
  /**
   * Requests that fit one frame travel on the peer's call stream; false sends each on a request
   * stream of its own (the A/B switch of the benchmark, and tests of that path).
   * @default true
   */
  callStream?: boolean
}

interface ConnectionRequests {
  timeoutMs: number
  slots: RequestSlots
  useCallStream: boolean
  /** The call stream to the peer, opened with the first request that goes on one. */
  calls?: CallStream
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
    useCallStream: settings.callStream ?? true,
  })
}

function requestsOf(connection: Connection): ConnectionRequests {
  let requests = connectionRequests.get(connection)
  if (!requests) {
    requests = { timeoutMs: DEFAULT_CALL_TIMEOUT_MS, slots: new RequestSlots(DEFAULT_MAX_REQUESTS_IN_FLIGHT), useCallStream: true }
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
 * Writes the request — on the peer's call stream when it fits one frame, else on a stream of its
 * own — and settles one promise on whichever comes first: the answer, the timeout, the signal (both
 * tell the server) or the failure of the stream it went on. One promise and no race per call: on a
 * cold process every promise hop on this path runs in the interpreter.
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
  let bytes: Uint8Array
  let calls: CallStream | undefined
  try {
    bytes = connection.encode(requestToWire(request))
    calls = bytes.byteLength <= CallStream.maxRequestBytes(connection) ? callStreamOf(connection) : undefined
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
    /** The serving side's answer: a reply's bytes, or null (a send accepted, or a request stream closed without a reply). */
    const answered = (answer: Uint8Array | null) => {
      if (settled) return
      let reply: Reply | null = null
      try {
        if (answer !== null) reply = replyFromWire(connection.decode(answer))
      } catch (error) {
        fail(error)
        return
      }
      settle()
      resolve(reply)
    }
    let tellServer: () => void
    if (calls) {
      const stream = calls
      const id = stream.request(bytes, { answered, failed: fail })
      tellServer = () => stream.cancel(id)
    } else {
      let stream: MuxStream
      try {
        stream = openRequestStream(connection, kind)
      } catch (error) {
        fail(error)
        return
      }
      tellServer = () => stream.reset('closed', 'the caller gave up')
      sendOnOwnStream(stream, bytes, answered, fail)
    }
    // Giving up tells the server, which aborts the handler's signal there.
    const giveUp = (error: MeshscopeError) => {
      if (!settle()) return
      tellServer()
      reject(error)
    }
    const onAbort = () => giveUp(abortedError(signal!))
    signal?.addEventListener('abort', onAbort, { once: true })
    if (timeout !== Number.POSITIVE_INFINITY) timer = setTimeout(() => giveUp(timeoutError(connection, wholeTimeout)), timeout)
  })
}

/** The peer's call stream: the open one, or a new one when there is none or it ended. Throws what `openStream` throws. */
function callStreamOf(connection: Connection): CallStream | undefined {
  const requests = requestsOf(connection)
  if (!requests.useCallStream) return undefined
  if (!requests.calls?.usable) requests.calls = new CallStream(connection)
  return requests.calls
}

/**
 * A request on a stream of its own: closing our side right away lets OPEN, the request and CLOSE
 * leave in one link message; the serving side answers with one reply (or, for an accepted send,
 * none) and its CLOSE.
 */
function sendOnOwnStream(stream: MuxStream, bytes: Uint8Array, answered: (answer: Uint8Array | null) => void, fail: (error: unknown) => void): void {
  let sendFailed = false
  const sent = stream.send(bytes)
  stream.close()
  sent.catch((error: unknown) => {
    sendFailed = true
    fail(error)
  })
  stream.receive().then(
    (answer) => {
      if (answer !== null) endAfterOneMessage(stream) // the serving side's CLOSE came with the reply
      answered(answer)
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
}

/** A request stream of its own, for a request too large for the call stream. Throws what delivery-errors.ts makes of a session that is over. */
function openRequestStream(connection: Connection, kind: 'send' | 'call'): MuxStream {
  try {
    return connection.session.openStream('request')
  } catch (cause) {
    throw deliveryError(cause, connection, kind)
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
