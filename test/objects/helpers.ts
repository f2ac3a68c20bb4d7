/**
 * Peers for the remote object tests: `n` peers, each with its own messaging (so each is its own
 * scope, as a mesh is), linked pairwise over memory links. `carry` sends a value from one to another
 * through a mailbox, as an application would.
 */
import type { Connection } from '../../src/channels/connection.js'
import { Messaging } from '../../src/mesh/messaging.js'
import { createPeerStack, type PeerStackOptions } from '../../src/mesh/peer-stack.js'
import { expectNoOpenStreams } from '../leaks.js'
import { memoryLinkPair } from '../mux/helpers.js'

export interface Peers {
  ids: string[]
  messaging: Messaging[]
  /** The connection peer `from` holds to peer `to`. */
  connection(from: number, to: number): Connection
  /** Sends `value` from peer `from` to peer `to` (ports inside it come out live there). */
  carry<T>(from: number, to: number, value: T): Promise<T>
  /** Cuts the link between two peers (both sessions end as when a peer vanishes). */
  cut(a: number, b: number): Promise<void>
  /** The leak check, then everything closed. */
  dispose(): Promise<void>
}

/** Stack options of peer `i` (its mux config, codec limits…), for tests that give one side other limits. */
export type StackOptionsOf = (i: number) => Partial<Pick<PeerStackOptions, 'muxConfig' | 'codecLimits' | 'channelLimits' | 'objectLimits'>>

export async function peers(n: number, stackOptions: StackOptionsOf = () => ({})): Promise<Peers> {
  const ids = Array.from({ length: n }, (_, i) => String.fromCharCode(97 + i).repeat(32))
  const connections = new Map<string, Connection>()
  const key = (from: number, to: number) => `${from}>${to}`
  let closed = false
  const messaging = ids.map(
    (id, i) =>
      new Messaging({
        id: () => id,
        connectionTo: (peer) => {
          const connection = connections.get(key(i, ids.indexOf(peer)))
          return connection?.session.state === 'open' ? connection : undefined
        },
        assertOpen: () => {
          if (closed) throw new Error('closed')
        },
        report: () => {},
      }),
  )
  const links = new Map<string, { sever(): void }>()
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const pair = await memoryLinkPair()
      links.set(key(i, j), pair)
      const a = createPeerStack(pair.a, { ...stackOptions(i), initiator: true, peerId: ids[j]!, messaging: messaging[i] }).connection
      const b = createPeerStack(pair.b, { ...stackOptions(j), initiator: false, peerId: ids[i]!, messaging: messaging[j] }).connection
      connections.set(key(i, j), a)
      connections.set(key(j, i), b)
      await Promise.all([a.session.ready, b.session.ready])
    }
  let carried = 0
  return {
    ids,
    messaging,
    connection: (from, to) => connections.get(key(from, to))!,
    async carry<T>(from: number, to: number, value: T): Promise<T> {
      const name = `carry-${carried++}`
      const box = messaging[to]!.mailbox<T>(name)
      await messaging[from]!.send(ids[to]!, name, value)
      const envelope = await box.receive()
      box.close()
      return envelope.value
    },
    async cut(a, b) {
      links.get(key(Math.min(a, b), Math.max(a, b)))!.sever()
      await new Promise((resolve) => setTimeout(resolve, 20))
    },
    async dispose() {
      try {
        await expectNoOpenStreams(connections.values())
      } finally {
        closed = true
        for (const connection of connections.values()) await connection.session.close().catch(() => {})
      }
    },
  }
}

export { delay, until } from '../until.js'

/** Runs garbage collection a few times with turns between, so finalizers get to run. */
export async function collectGarbage(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    ;(globalThis as { gc?: () => void }).gc?.()
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
