/**
 * What a failed request tells its caller. The mux reports a lost stream as STREAM_RESET (with the
 * peer's reason) or DISCONNECTED (the session ended); the caller of a send needs to know why, each
 * with its own code, never a catch-all PEER_GONE:
 *
 *   the peer's mux refused the stream (RESET tooManyStreams)    TOO_MANY_STREAMS
 *   the peer is closing (RESET goingAway, or its GOAWAY)        MESH_CLOSED
 *   the link closed before the peer answered                    LINK_CLOSED
 *   the peer left: this side dropped its link, or it went quiet PEER_GONE
 *   the peer reset the stream, its session going on             STREAM_RESET (e.g. the request did
 *                                                                not arrive within its read deadline)
 *
 * A call keeps PEER_GONE for every lost session (its reply cannot come any more), but a refused
 * stream is TOO_MANY_STREAMS and a peer closing MESH_CLOSED for it too.
 */
import type { Connection } from '../channels/connection.js'
import { MeshscopeError, isMeshscopeError } from '../errors.js'

/** The error a send's or call's caller gets for `error`, raised while its request was in flight. */
export function deliveryError(error: unknown, connection: Connection, kind: 'send' | 'call'): unknown {
  const peerId = connection.peerId ?? 'the peer'
  if (isMeshscopeError(error, 'TOO_MANY_STREAMS') || (isMeshscopeError(error, 'STREAM_RESET') && error.cause === 'tooManyStreams')) {
    return new MeshscopeError('TOO_MANY_STREAMS', `${peerId} refused the request: it has as many streams open as it allows`, { cause: error })
  }
  if (isMeshscopeError(error, 'STREAM_RESET') && error.cause === 'goingAway') {
    return new MeshscopeError('MESH_CLOSED', `${peerId} is closing; the request was not taken`, { cause: error })
  }
  if (!isMeshscopeError(error, 'DISCONNECTED') && !isMeshscopeError(error, 'STREAM_RESET')) return error
  const ended = connection.session.closeInfo?.reason
  // The peer reset this request's stream while its session goes on (it gave up on reading it, or
  // its handler's stream was reset): not a peer that went away.
  if (isMeshscopeError(error, 'STREAM_RESET') && ended === undefined) return error
  if (ended === 'goaway') return new MeshscopeError('MESH_CLOSED', `${peerId} closed its session before answering`, { cause: error })
  if (kind === 'send' && ended === 'disconnected') {
    return new MeshscopeError('LINK_CLOSED', `the link to ${peerId} closed before the message was accepted`, { cause: error })
  }
  return new MeshscopeError('PEER_GONE', `${peerId} went away before ${kind === 'send' ? 'accepting the message' : 'replying'}`, { cause: error })
}
