/**
 * The leak check run after every mesh and RPC test, as capnweb checks after each test that
 * everything was disposed: once a test is over, no mux stream may be open on a connection it made.
 * Every call opens a request stream that lives until its reply, and every channel half or remote
 * function that crossed to a peer holds a port stream until it is closed or dropped; so no open
 * stream means no call pending and nothing left undisposed.
 *
 * Closing is a round trip (CLOSE or RESET, then the peer's), so the check waits a little for the
 * count to reach zero before it fails, naming each connection that still holds streams.
 */
import type { Connection } from '../src/channels/connection.js'

/** How long streams closed at the very end of a test may take to be released on both sides. */
const SETTLE_MS = 2_000

export async function expectNoOpenStreams(connections: Iterable<Connection | undefined>, settleMs = SETTLE_MS): Promise<void> {
  const open = [...connections].filter((connection): connection is Connection => connection?.session.state === 'open')
  const leaking = () => open.filter((connection) => connection.session.state === 'open' && connection.session.streamCount > 0)
  const deadline = Date.now() + settleMs
  while (leaking().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  const left = leaking()
  if (left.length > 0) {
    const where = left.map((connection) => `${connection.session.streamCount} to ${connection.peerId ?? 'a peer'}`).join(', ')
    throw new Error(`leak: streams still open after the test (${where}) — a call without its reply, or a channel half or remote function not closed`)
  }
}
