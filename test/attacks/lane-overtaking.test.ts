/**
 * When the bulk lane overtakes the latency lane (mux v4, src/mux/lanes.ts). On a real link the two
 * data channels are independent SCTP streams: a lost packet on the latency lane holds it back for a
 * retransmission while the bulk lane goes on. The tests play that by holding back the sender's
 * latency-lane messages (in order) while its bulk-lane messages leave at once.
 *
 * - An honest peer that opens several bulk streams at once may send each a whole window before
 *   their OPENs arrive: five streams passed the hold's old fixed bound of 4 windows, and the
 *   receiver failed the session with MUX_PROTOCOL_ERROR — an honest link killed by one lost packet.
 *   The hold now allows one window per stream the peer may still open.
 * - A value on a bulk-lane channel that carries a port: the port's OPEN travels on the latency lane,
 *   the value on the bulk lane; the hold waits only for the OPEN of the stream the frame is on, not
 *   for ports named inside it, so the value arrived first and its port was unknown (BAD_PORT).
 *   Now the claim of an id the peer may still open takes the stream, which waits for its OPEN.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as mpsc from '../../src/channels/mpsc.js'
import type { MuxConfig } from '../../src/mux/config.js'
import { MuxSession } from '../../src/mux/session.js'
import type { Link } from '../../src/transport/link.js'
import { createMemoryLinkPair } from '../../src/transport/memory-link.js'
import { connectionPair, type ConnectionPair } from '../channels/helpers.js'
import { pattern, readAll, sameBytes, tick } from '../mux/helpers.js'

/** From now on, `link`'s latency-lane messages leave `lateMs` later (in order); its bulk-lane ones at once. */
function holdBackLatencyLane(link: Link, lateMs: number): void {
  const send = link.send.bind(link)
  let chain: Promise<unknown> = Promise.resolve()
  link.send = (data, lane = 'latency') => {
    if (lane !== 'latency') return send(data, lane)
    const copy = data.slice() // the session reuses its batch buffer once send resolves
    chain = chain.then(() => tick(lateMs)).then(() => send(copy, 'latency').catch(() => {}))
    return Promise.resolve()
  }
}

/** One more than the hold's old fixed bound of 4 windows. */
const STREAMS = 5

let pair: ConnectionPair | undefined
const sessions: MuxSession[] = []
afterEach(async () => {
  for (const session of sessions.splice(0)) session.abort()
  await pair?.dispose()
  pair = undefined
})

describe('the bulk lane overtakes the latency lane', () => {
  it(`an honest peer opening ${STREAMS} bulk streams at once, each sending its first window, keeps its session`, async () => {
    const config: Partial<MuxConfig> = { initialWindowBytes: 16 * 1024, maxWindowBytes: 16 * 1024 }
    const { a: linkA, b: linkB } = createMemoryLinkPair()
    const a = new MuxSession(linkA, { initiator: true, config })
    const b = new MuxSession(linkB, { initiator: false, config })
    sessions.push(a, b)
    await Promise.all([a.ready, b.ready])
    const received: Promise<Uint8Array[]>[] = []
    b.events.on('stream', (stream) => received.push(readAll(stream)))
    holdBackLatencyLane(linkA, 30)
    const streams = STREAMS
    const messages = Array.from({ length: streams }, (_, i) => pattern(16 * 1024, i))
    for (const message of messages) {
      const stream = a.openStream('request', { lane: 'bulk' })
      void stream.send(message).catch(() => {})
      stream.close()
    }
    const bClosed = new Promise<string>((resolve) => b.events.once('close', (info) => resolve(info.reason)))
    const outcome = await Promise.race([
      bClosed,
      (async () => {
        while (received.length < streams) await tick(5)
        return Promise.all(received)
      })(),
    ])
    expect(outcome, 'the receiver failed the session').not.toBe('protocol-error')
    const all = outcome as Uint8Array[][]
    expect(all.map((messagesOf) => messagesOf.length)).toEqual(Array(streams).fill(1))
    expect(all.every((messagesOf, i) => sameBytes(messagesOf[0]!, messages[i]!))).toBe(true)
  })

  it('a port inside a value on a bulk-lane channel arrives live, though its OPEN travels on the latency lane', async () => {
    pair = await connectionPair('memory')
    const [tx, rx] = mpsc.channel<mpsc.Sender<string>>({ lane: 'bulk' })
    const remoteRx = await pair.transfer(rx)
    holdBackLatencyLane(pair.pair.links.a, 30)
    const [innerTx, innerRx] = mpsc.channel<string>()
    await tx.send(innerTx)
    const arrived = await remoteRx.recv()
    expect(arrived).toBeInstanceOf(mpsc.Sender)
    await arrived!.send('through the port')
    expect(await innerRx.recv()).toBe('through the port')
  })
})
