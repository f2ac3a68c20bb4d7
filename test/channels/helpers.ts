import type { Connection } from '../../src/channels/connection.js'
import type { PortTable } from '../../src/channels/port.js'
import { createPeerStack } from '../../src/mesh/peer-stack.js'
import type { MuxStream } from '../../src/mux/stream.js'
import { memoryLinkPair, sessionPairOf, wrtcLinkPair, type SessionPair } from '../mux/helpers.js'

export interface ConnectionPair {
  /** This side. */
  a: Connection
  /** The other peer. */
  b: Connection
  pair: SessionPair
  /** Sends `value` from a to b in a message on a request stream: ports come out live on b. */
  transfer<T>(value: T): Promise<T>
  /** And the other way. */
  transferBack<T>(value: T): Promise<T>
  dispose(): Promise<void>
}

/**
 * Two peer stacks with no messaging: request streams are left to `transfer`. `ports` gives a side's
 * port table (default: every kind).
 */
export async function connectionPair(kind: 'memory' | 'wrtc' = 'memory', options: { ports?: { a?: PortTable; b?: PortTable } } = {}): Promise<ConnectionPair> {
  const links = await (kind === 'memory' ? memoryLinkPair() : wrtcLinkPair())
  const { connection: a } = createPeerStack(links.a, { initiator: true, peerId: 'b'.repeat(32), ports: options.ports?.a })
  const { connection: b } = createPeerStack(links.b, { initiator: false, peerId: 'a'.repeat(32), ports: options.ports?.b })
  await Promise.all([a.session.ready, b.session.ready])
  const pair = sessionPairOf(a.session, b.session, links)
  return {
    a,
    b,
    pair,
    transfer: <T>(value: T) => carry<T>(a, b, value),
    transferBack: <T>(value: T) => carry<T>(b, a, value),
    dispose: () => pair.dispose(),
  }
}

/** What a mailbox does: one message on a fresh request stream, decoded on the other side. */
async function carry<T>(from: Connection, to: Connection, value: T): Promise<T> {
  const incoming = new Promise<MuxStream>((resolve) => to.session.events.once('stream', resolve))
  const stream = from.session.openStream('request')
  await stream.send(from.encode(value))
  stream.close()
  const arrived = await incoming
  const bytes = await arrived.receive()
  arrived.close()
  void arrived.receive().catch(() => {}) // the sender's CLOSE, or the end of the session
  return to.decode(bytes!) as T
}

export const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms))

export { until } from '../until.js'
