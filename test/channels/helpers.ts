import type { Connection } from '../../src/channels/connection.js'
import type { ChannelLimits } from '../../src/channels/limits.js'
import { ENCODE_PORT, type PortPayload, type PortTable, type Portable } from '../../src/channels/port.js'
import type { MuxConfig } from '../../src/mux/config.js'
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

export interface ConnectionPairOptions {
  /** A side's port table (default: every kind). */
  ports?: { a?: PortTable; b?: PortTable }
  /** A side's channel limits (default: DEFAULT_CHANNEL_LIMITS). */
  channelLimits?: { a?: Partial<ChannelLimits>; b?: Partial<ChannelLimits> }
  /** Both sides' multiplexer overrides. */
  muxConfig?: Partial<MuxConfig>
}

/** Two peer stacks with no messaging: request streams are left to `transfer`. */
export async function connectionPair(kind: 'memory' | 'wrtc' = 'memory', options: ConnectionPairOptions = {}): Promise<ConnectionPair> {
  const links = await (kind === 'memory' ? memoryLinkPair() : wrtcLinkPair())
  const { ports, channelLimits, muxConfig } = options
  const { connection: a } = createPeerStack(links.a, { initiator: true, peerId: 'b'.repeat(32), ports: ports?.a, channelLimits: channelLimits?.a, muxConfig })
  const { connection: b } = createPeerStack(links.b, { initiator: false, peerId: 'a'.repeat(32), ports: ports?.b, channelLimits: channelLimits?.b, muxConfig })
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

/**
 * A port whose payload the test (playing a hostile peer) writes itself, and the raw stream it names:
 * items written there arrive on the other side as if from the half's remote end.
 */
export function hostilePort(from: Connection, payload: Omit<PortPayload, 's'>): { port: Portable; stream: MuxStream } {
  const stream = from.openPortStream()
  // A class instance: the codec encodes a plain object as a map, whatever symbols it has.
  class HostilePort implements Portable {
    [ENCODE_PORT]() {
      return { payload: { ...payload, s: stream.id }, activate() {}, rollback() {} }
    }
  }
  return { port: new HostilePort(), stream }
}

/**
 * Writes `message` `count` times without waiting and resolves once the link stopped taking more
 * (nothing resolved for `quietMs`) or every write resolved; returns how many resolved.
 * `stalled`: what says the receiving side stopped taking more (e.g. its budget is full). Quiet
 * alone is a guess: on a loaded machine nothing may resolve for `quietMs` before the first item
 * even arrived. With `stalled`, the flood also waits for it (up to `stallTimeoutMs`).
 */
export async function flood(
  stream: MuxStream,
  message: Uint8Array,
  count: number,
  quietMs = 150,
  stalled: () => boolean = () => true,
  stallTimeoutMs = 10_000,
): Promise<number> {
  let resolved = 0
  for (let i = 0; i < count; i++)
    stream.send(message).then(
      () => resolved++,
      () => {},
    )
  const deadline = Date.now() + stallTimeoutMs
  let seen = -1
  while (resolved < count && (resolved !== seen || !stalled())) {
    if (Date.now() > deadline) throw new Error(`the flood did not stall within ${stallTimeoutMs} ms (${resolved} of ${count} taken)`)
    seen = resolved
    await tick(quietMs)
  }
  return resolved
}

/** Heap and ArrayBuffer bytes in use after a full garbage collection (vitest runs with --expose-gc). */
export async function usedBytes(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    ;(globalThis as { gc?: () => void }).gc?.()
    await tick()
  }
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return heapUsed + arrayBuffers
}
