/**
 * A resolved `send` means the peer accepted the message, and every refusal reaches the sender with
 * its own code (issue 12, "no silent loss"): unknown mailbox, full mailbox, too many streams, the
 * peer closing, the link closing before delivery, the peer gone — and a silent peer times out
 * instead of holding the send (and its stream) forever.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { ID_A, ID_B, delay, disposeChecked, held, messagingPair, until, type MessagingPair } from './helpers.js'
import { callOverConnection, sendOverConnection } from '../../src/rpc/call.js'

/**
 * Makes `peers.b` a peer that is connected but never answers a request (its streams stay open).
 * Returns how many requests it has taken so far: a count that only grows, unlike its open streams,
 * which a caller's timeout resets.
 */
function silence(peers: MessagingPair): () => number {
  let taken = 0
  peers.b.serve = () => {
    taken++
    return new Promise(() => {})
  }
  return () => taken
}

describe('send: resolves once the peer accepted the message', () => {
  let peers: MessagingPair
  afterEach(() => disposeChecked(peers))

  it('a resolved send to a registered handler means the handler was invoked', async () => {
    peers = await messagingPair()
    const seen: number[] = []
    peers.b.register<number>('record', (n) => void seen.push(n))
    await peers.a.send(ID_B, 'record', 7)
    expect(seen).toEqual([7])
  })

  it('a resolved send to a mailbox object means the message is queued there', async () => {
    peers = await messagingPair()
    const box = peers.b.mailbox<number>('queue')
    await peers.a.send(ID_B, 'queue', 1)
    expect(box.size).toBe(1)
  })

  it('a send to an unknown mailbox rejects with UNKNOWN_MAILBOX (and no error event)', async () => {
    peers = await messagingPair()
    await expect(peers.a.send(ID_B, 'nobody', 1)).rejects.toMatchObject({ code: 'UNKNOWN_MAILBOX' })
    expect(peers.reportedAtA).toEqual([])
  })

  it('sends pipeline: 200 sends in flight at once all resolve and arrive in order', async () => {
    peers = await messagingPair()
    const seen: number[] = []
    peers.b.register<number>('record', (n) => void seen.push(n))
    await Promise.all(Array.from({ length: 200 }, (_, i) => peers.a.send(ID_B, 'record', i)))
    expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i))
  })

  it('a handler that throws on a send: the send was accepted, the receiver reports HANDLER_FAILED', async () => {
    peers = await messagingPair()
    peers.b.register('broken', () => {
      throw new Error('boom')
    })
    await peers.a.send(ID_B, 'broken', 1)
    await until('the report', () => peers.reportedAtB.some((error) => error.code === 'HANDLER_FAILED'))
    expect(peers.reportedAtA).toEqual([])
  })
})

describe('send: every refusal reaches the sender with its code', () => {
  let peers: MessagingPair
  afterEach(() => disposeChecked(peers))

  it('1 100 calls pending on a silent handler: calls and sends over the stream limit reject with TOO_MANY_STREAMS, none lost', async () => {
    // maxStreams is the limit here: an inbound budget with room for every window (by default a burst
    // of streams is refused already at 64 MiB of windows: test/mux/budget.test.ts), and a caller
    // that does not hold its requests back (as a peer with a higher maxRequestsInFlight would not).
    peers = await messagingPair({ config: { maxInboundBytes: 1_100 * 256 * 1024 }, maxRequestsInFlight: 2_000, callStream: false })
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    peers.b.register('never', () => released)
    const delivered: number[] = []
    peers.b.register<number>('other', (n) => void delivered.push(n))
    const calls = Array.from({ length: 1_100 }, () =>
      peers.a.call(ID_B, 'never', 1).then(
        () => 'ok',
        (error: { code: string }) => error.code,
      ),
    )
    await until('the peer holds its 1 024 streams', () => held(peers.connections.b) === 1_024)
    const sends = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => peers.a.send(ID_B, 'other', i)))
    expect(sends.map((result) => (result.status === 'rejected' ? (result.reason as { code: string }).code : 'ok'))).toEqual(
      Array.from({ length: 20 }, () => 'TOO_MANY_STREAMS'),
    )
    expect(delivered).toEqual([])
    release()
    const outcomes = await Promise.all(calls)
    expect(outcomes.filter((code) => code === 'ok')).toHaveLength(1_024)
    expect(outcomes.filter((code) => code === 'TOO_MANY_STREAMS')).toHaveLength(76)
    await peers.a.send(ID_B, 'other', 99)
    expect(delivered).toEqual([99])
  })

  it('the peer closing its session: a send in flight rejects with MESH_CLOSED, not PEER_GONE', async () => {
    peers = await messagingPair()
    peers.b.register('inbox', () => {})
    const closing = peers.pair.b.close()
    await expect(peers.a.send(ID_B, 'inbox', 1)).rejects.toMatchObject({ code: 'MESH_CLOSED' })
    await closing
  })

  it('after the peer closed its session: a request on its ended connection rejects with MESH_CLOSED, not PEER_GONE', async () => {
    peers = await messagingPair()
    peers.b.register('inbox', () => {})
    await peers.pair.b.close()
    await until('this side saw the goodbye', () => peers!.pair.a.state === 'closed')
    // A request that still held the connection when the session ended (the mesh would no longer
    // hand it out): the stream cannot open, and the caller learns why.
    const connection = peers.connections.a
    await expect(sendOverConnection(connection, { kind: 'send', name: 'inbox', value: 1 })).rejects.toMatchObject({ code: 'MESH_CLOSED' })
    await expect(callOverConnection(connection, { kind: 'call', name: 'inbox', value: 1 })).rejects.toMatchObject({ code: 'MESH_CLOSED' })
  })

  it('the link closing before the peer answered: the send rejects with LINK_CLOSED', async () => {
    peers = await messagingPair()
    silence(peers)
    const sent = peers.a.send(ID_B, 'inbox', 1)
    await until('the request arrived', () => peers.pair.b.streamCount === 1)
    peers.pair.sever()
    await expect(sent).rejects.toMatchObject({ code: 'LINK_CLOSED' })
  })

  it('the peer left (its link dropped here): the send rejects with PEER_GONE', async () => {
    peers = await messagingPair()
    silence(peers)
    const sent = peers.a.send(ID_B, 'inbox', 1)
    await until('the request arrived', () => peers.pair.b.streamCount === 1)
    peers.connections.a.session.abort('peer left: the room said so')
    await expect(sent).rejects.toMatchObject({ code: 'PEER_GONE' })
  })
})

describe('nothing waits forever: the default call timeout', () => {
  let peers: MessagingPair
  afterEach(() => disposeChecked(peers))

  it.each([
    ['on the call stream', true],
    ['each on its own stream', false],
  ])('100 sends to a peer that never answers reject with TIMEOUT and their streams are released (%s)', async (_, callStream) => {
    peers = await messagingPair({ callTimeoutMs: 50, callStream })
    const taken = silence(peers)
    const sends = Array.from({ length: 100 }, (_, i) => peers.a.send(ID_B, 'inbox', i))
    // Handled from the start: on a loaded machine they may reject before the wait below is over.
    const outcomes = Promise.allSettled(sends)
    // Every request reached the peer (which keeps them open until the caller gives up). Not "100
    // streams open at once": on a loaded machine the first may time out before the last arrive.
    // (On the call stream, the one stream that carries them reached it.)
    await until('the requests arrived', () => taken() === (callStream ? 1 : 100))
    for (const outcome of await outcomes) expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'TIMEOUT' } })
    await until('streams released', () => held(peers.connections.a) === 0 && held(peers.connections.b) === 0)
  })

  it('a call without a timeout gets the default one; a per-call timeout overrides it', async () => {
    peers = await messagingPair({ callTimeoutMs: 50 })
    silence(peers)
    const started = Date.now()
    await expect(peers.a.call(ID_B, 'inbox', 1)).rejects.toMatchObject({ code: 'TIMEOUT' })
    expect(Date.now() - started).toBeLessThan(1_000)
    const longer = peers.a.call(ID_B, 'inbox', 1, { timeout: 300 })
    await delay(150)
    await expect(Promise.race([longer, 'still waiting'])).resolves.toBe('still waiting')
    await expect(longer).rejects.toMatchObject({ code: 'TIMEOUT' })
  })

  it('timeout: Infinity waits past the default, until aborted', async () => {
    peers = await messagingPair({ callTimeoutMs: 30 })
    silence(peers)
    const controller = new AbortController()
    const patient = peers.a.call(ID_B, 'inbox', 1, { timeout: Number.POSITIVE_INFINITY, signal: controller.signal })
    await delay(120)
    await expect(Promise.race([patient, 'still waiting'])).resolves.toBe('still waiting')
    controller.abort()
    await expect(patient).rejects.toMatchObject({ code: 'ABORTED' })
  })

  it('a remote function received from a silent peer times out after the default too', async () => {
    peers = await messagingPair({ callTimeoutMs: 50 })
    const arrived = peers.b.mailbox<{ never: () => Promise<never> }>('take')
    await peers.a.send(ID_B, 'take', { never: () => new Promise<never>(() => {}) })
    const { never } = (await arrived.receive()).value
    arrived.close()
    await expect(never()).rejects.toMatchObject({ code: 'TIMEOUT' })
    ;(never as unknown as Disposable)[Symbol.dispose]()
  })

  it('a call to oneself takes the default timeout too', async () => {
    peers = await messagingPair({ callTimeoutMs: 30 })
    peers.a.register('never', () => new Promise(() => {}))
    await expect(peers.a.call(ID_A, 'never', 1)).rejects.toMatchObject({ code: 'TIMEOUT' })
  })
})
