/**
 * The leak check run after every mesh and RPC test, as capnweb checks after each test that
 * everything was disposed: once a test is over, no mux stream may be open on a connection it made.
 * Every channel half or remote function that crossed to a peer holds a port stream until it is
 * closed or dropped, and a call holds a request slot until its reply (a request too large for the
 * call stream, a stream of its own too); a peer's call stream lives as long as the session and is
 * not counted. So no open stream but call streams, and no call pending, means nothing left
 * undisposed.
 *
 * Closing is a round trip (CLOSE or RESET, then the peer's), so the check waits a little for the
 * count to reach zero before it fails, naming each connection that still holds streams.
 */
import type { Connection } from '../src/channels/connection.js'
import { requestSlotsOf } from '../src/rpc/call.js'

/** Streams open on `connection` but call streams, plus requests in flight from it. */
export function heldForRequests(connection: Connection): number {
  return connection.session.streamCount - connection.session.streamCountOf('calls') + requestSlotsOf(connection).inFlight
}

/** How long streams closed at the very end of a test may take to be released on both sides. */
const SETTLE_MS = 2_000

export async function expectNoOpenStreams(connections: Iterable<Connection | undefined>, settleMs = SETTLE_MS): Promise<void> {
  const open = [...connections].filter((connection): connection is Connection => connection?.session.state === 'open')
  const held = heldForRequests
  const leaking = () => open.filter((connection) => connection.session.state === 'open' && held(connection) > 0)
  const deadline = Date.now() + settleMs
  while (leaking().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  const left = leaking()
  if (left.length > 0) {
    const where = left.map((connection) => `${held(connection)} to ${connection.peerId ?? 'a peer'}`).join(', ')
    throw new Error(`leak: streams still open after the test (${where}) — a call without its reply, or a channel half or remote function not closed`)
  }
}
