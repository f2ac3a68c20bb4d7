/**
 * The calling side of a request: one request stream per call, which the caller closes right after
 * the request (so a call costs one link message each way). Settles on the reply, on abort or
 * timeout (the stream is reset, which aborts the handler's signal on the other side), or when the
 * peer goes away (PEER_GONE) — never hangs.
 */
import type { Connection } from '../channels/connection.js'
import { MeshscopeError, isMeshscopeError } from '../errors.js'
import { RemoteError } from './errors.js'
import type { MuxStream } from '../mux/stream.js'
import { replyFromWire, requestToWire, type Reply, type Request } from './protocol.js'

export interface CallOptions {
  /** Gives up after this many milliseconds (TIMEOUT); the remote handler's signal aborts. */
  timeout?: number
  /** Gives up when aborted (ABORTED); the remote handler's signal aborts. */
  signal?: AbortSignal
}

export function validateCallOptions(options: CallOptions | undefined): void {
  if (options?.timeout !== undefined && (!Number.isFinite(options.timeout) || options.timeout <= 0)) {
    throw new MeshscopeError('INVALID_ARGUMENT', 'timeout must be a positive number of milliseconds')
  }
}

/** Sends a request and waits for its reply. */
export async function callOverConnection(connection: Connection, request: Request, options: CallOptions = {}): Promise<unknown> {
  validateCallOptions(options)
  if (options.signal?.aborted) throw abortedError(options.signal)
  const peerId = connection.peerId ?? 'the peer'
  const { stream, bytes } = openRequest(connection, request)

  // Closing our side right away lets OPEN, the request and CLOSE leave in one link message; the
  // serving side still learns of a give-up, which resets the stream.
  const sent = stream.send(bytes)
  stream.close()
  const exchange = receiveReply(connection, stream, sent, peerId)
  // Most calls have neither a signal nor a timeout: they wait for the reply alone.
  if (!options.signal && options.timeout === undefined) {
    try {
      return settle(await exchange, peerId)
    } catch (error) {
      throw mapTransportError(error, peerId)
    }
  }

  let giveUp!: (error: MeshscopeError) => void
  const givenUp = new Promise<never>((_, reject) => (giveUp = reject))
  const onAbort = () => giveUp(abortedError(options.signal!))
  options.signal?.addEventListener('abort', onAbort, { once: true })
  const timer =
    options.timeout === undefined
      ? undefined
      : setTimeout(() => giveUp(new MeshscopeError('TIMEOUT', `no reply from ${peerId} within ${options.timeout} ms`)), options.timeout)
  try {
    return settle(await Promise.race([exchange, givenUp]), peerId)
  } catch (error) {
    exchange.catch(() => {})
    // Giving up resets the stream, which aborts the handler's signal on the other side.
    if (isMeshscopeError(error, 'TIMEOUT') || isMeshscopeError(error, 'ABORTED')) stream.reset('closed', 'the caller gave up')
    throw mapTransportError(error, peerId)
  } finally {
    clearTimeout(timer)
    options.signal?.removeEventListener('abort', onAbort)
  }
}

/**
 * A request stream and the request's bytes, for a call or a plain send. Throws PEER_GONE when the
 * session is over, or the codec's error when the request cannot travel (the stream is reset then).
 */
export function openRequest(connection: Connection, request: Request): { stream: MuxStream; bytes: Uint8Array } {
  let stream: MuxStream
  try {
    stream = connection.session.openStream('request')
  } catch (cause) {
    throw new MeshscopeError('PEER_GONE', `${connection.peerId ?? 'the peer'} is gone`, { cause })
  }
  try {
    return { stream, bytes: connection.encode(requestToWire(request)) }
  } catch (error) {
    stream.reset('closed', 'the request could not be encoded')
    throw error
  }
}

/** The reply on a request stream whose request is on its way (`sent` rejects if it could not go). */
async function receiveReply(connection: Connection, stream: MuxStream, sent: Promise<void>, peerId: string): Promise<Reply> {
  const receiving = stream.receive()
  try {
    await sent
  } catch (error) {
    receiving.catch(() => {})
    throw error
  }
  const reply = await receiving
  if (reply === null) throw new MeshscopeError('PEER_GONE', `${peerId} closed the call without a reply`)
  void stream.receive().catch(() => {}) // the serving side's CLOSE
  return replyFromWire(connection.decode(reply))
}

/** The caller's result: the value, or the refusal or remote error thrown. */
function settle(reply: Reply, peerId: string): unknown {
  if (reply.kind === 'value') return reply.value
  if (reply.kind === 'refused') throw new MeshscopeError(reply.error.code, `${peerId}: ${reply.error.message}`, { cause: reply.error })
  throw new RemoteError(peerId, reply.error, stackWasSent(reply.error))
}

/** Transport failures become PEER_GONE for the caller; everything else passes through. */
function mapTransportError(error: unknown, peerId: string): unknown {
  if (isMeshscopeError(error, 'DISCONNECTED') || isMeshscopeError(error, 'STREAM_RESET')) {
    return new MeshscopeError('PEER_GONE', `${peerId} went away before replying`, { cause: error })
  }
  return error
}

function abortedError(signal: AbortSignal): MeshscopeError {
  return new MeshscopeError('ABORTED', 'the call was aborted', { cause: signal.reason })
}

/** The codec rebuilds a stack-less remote error with only its `name: message` line. */
function stackWasSent(error: Error): boolean {
  return typeof error.stack === 'string' && error.stack.includes('\n')
}
