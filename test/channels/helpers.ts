import { Connection } from '../../src/channels/connection.js'
import type { MuxStream } from '../../src/mux/stream.js'
import { memorySessionPair, wrtcSessionPair, type SessionPair } from '../mux/helpers.js'

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

export async function connectionPair(kind: 'memory' | 'wrtc' = 'memory'): Promise<ConnectionPair> {
  const pair = await (kind === 'memory' ? memorySessionPair() : wrtcSessionPair())
  const a = new Connection(pair.a, { peerId: 'a'.repeat(32) })
  const b = new Connection(pair.b, { peerId: 'b'.repeat(32) })
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
