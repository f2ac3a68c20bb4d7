/**
 * Send-ahead in a pump (src/channels/pumps.ts, send-ahead.ts) and an item over the peer's limit
 * that is found only when the peer's HELLO arrives (commit 420f731: "still fails in its place").
 *
 * A receiver sent before the HELLO starts its pump at once; the pump no longer awaits each send, so
 * the items after the large one are queued on the stream beside it. The HELLO rejects the large one
 * (MuxStream drops it from its queue) and the pump's rejection handler sends the item's error a
 * microtask later — behind the items queued after it. The receiving side sees them in the wrong
 * order: the values after the failed one, then its error. Order per stream is a promise.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as mpsc from '../../src/channels/mpsc.js'
import { createPeerStack } from '../../src/mesh/peer-stack.js'
import type { MuxStream } from '../../src/mux/stream.js'
import type { MuxSession } from '../../src/mux/session.js'
import type { Link } from '../../src/transport/link.js'
import { memoryLinkPair, tick } from '../mux/helpers.js'

/** `link`'s latency-lane messages (its HELLO first) leave `lateMs` later, in order. */
function holdBackLatencyLane(link: Link, lateMs: number): void {
  const send = link.send.bind(link)
  let chain: Promise<unknown> = Promise.resolve()
  link.send = (data, lane = 'latency') => {
    if (lane !== 'latency') return send(data, lane)
    const copy = data.slice()
    chain = chain.then(() => tick(lateMs)).then(() => send(copy, 'latency').catch(() => {}))
    return Promise.resolve()
  }
}

const sessions: MuxSession[] = []
afterEach(() => {
  for (const session of sessions.splice(0)) session.abort()
})

describe('send-ahead and an item found too large at the HELLO', () => {
  it('the item fails in its place: the values sent after it arrive after its error', async () => {
    const links = await memoryLinkPair()
    holdBackLatencyLane(links.b, 30) // b's HELLO, with its item limit, comes late
    const { connection: a } = createPeerStack(links.a, { initiator: true, peerId: 'b'.repeat(32) })
    const { connection: b } = createPeerStack(links.b, { initiator: false, peerId: 'a'.repeat(32), muxConfig: { maxItemBytes: 1024 } })
    sessions.push(a.session, b.session)
    const [tx, rx] = mpsc.channel<Uint8Array | string>()
    const incoming = new Promise<MuxStream>((resolve) => b.session.events.once('stream', resolve))
    const carrier = a.session.openStream('request')
    void carrier.send(a.encode(rx)).catch(() => {}) // before b's HELLO: the pump starts now
    await tx.send(new Uint8Array(4096)) // over b's limit, which a does not know yet
    await tx.send('after 1')
    await tx.send('after 2')
    const arrived = await incoming
    const remoteRx = b.decode((await arrived.receive())!) as mpsc.Receiver<Uint8Array | string>
    const seen: string[] = []
    for (let i = 0; i < 3; i++)
      seen.push(
        await remoteRx.recv().then(
          (value) => String(value),
          (error: { code?: string }) => error.code ?? String(error),
        ),
      )
    expect(seen).toEqual(['ITEM_TOO_LARGE', 'after 1', 'after 2'])
  })
})
