/**
 * Pacing of bulk-lane streams (src/mux/bulk-pacing.ts): while latency-lane DATA flows, a bulk
 * stream's sender keeps at most `bulkInFlightBytes` of credit unreturned, whatever window the peer
 * grants; alone it keeps up to `bulkAloneInFlightBytes` (src/mux/latency-traffic.ts), never past the
 * window; the receiver gives a bulk stream's credit back in batches of BULK_CREDIT_BATCH_BYTES;
 * latency-lane streams are not paced; and a paced bulk stream still delivers everything, in order.
 */
import { describe, expect, it } from 'vitest'
import { BULK_CREDIT_BATCH_BYTES, bulkInFlightLimit } from '../../src/mux/bulk-pacing.js'
import { resolveMuxConfig } from '../../src/mux/config.js'
import { DATA_FRAME_CREDIT_BYTES, type Frame } from '../../src/mux/frame.js'
import { MuxSession } from '../../src/mux/session.js'
import { createMemoryLinkPair } from '../../src/transport/memory-link.js'
import { nextIncoming, pattern, readAll, sameBytes } from './helpers.js'
import { rawPeersDisposedAfterEach } from './raw-peer.js'

const peer = rawPeersDisposedAfterEach()
const KiB = 1024

/** The credit the session's DATA frames on `streamId` spent, as the raw peer received them. */
function creditSpent(frames: readonly Frame[], streamId: number): number {
  let spent = 0
  for (const frame of frames) if (frame.type === 'data' && frame.streamId === streamId) spent += frame.payload.byteLength + DATA_FRAME_CREDIT_BYTES
  return spent
}

describe('a bulk stream keeps at most bulkInFlightBytes of credit in flight', () => {
  it('stops at the limit though the window allows more, and goes on as credit comes back', async () => {
    // Alone it would keep more (below): here the alone limit is the paced one.
    const raw = peer({ bulkAloneInFlightBytes: 64 * KiB })
    await raw.handshake({ initialWindowBytes: 256 * KiB })
    const limit = bulkInFlightLimit(raw.session.config.bulkInFlightBytes, 256 * KiB)
    expect(limit).toBeLessThan(128 * KiB)
    const stream = raw.session.openStream('request', { lane: 'bulk' })
    const sent = stream.send(pattern(512 * KiB, 1))
    void sent.catch(() => {})
    await raw.waitFor('data', (frame) => frame.type === 'data')
    expect(await raw.barrier()).toBe(true)
    const first = creditSpent(raw.frames, stream.id)
    expect(first).toBeLessThanOrEqual(limit)
    expect(first).toBeGreaterThan(limit - 16 * KiB)
    // Credit back for 32 KiB: about that much more goes out, and no more.
    await raw.send({ type: 'credit', streamId: stream.id, increment: 32 * KiB })
    await raw.waitFor('more data', (frame) => frame.type === 'data' && creditSpent(raw.frames, stream.id) > first)
    expect(await raw.barrier()).toBe(true)
    const second = creditSpent(raw.frames, stream.id)
    expect(second).toBeLessThanOrEqual(limit + 32 * KiB)
    expect(second).toBeGreaterThan(limit + 16 * KiB)
  })

  it('a latency-lane stream is not paced: it spends the whole window', async () => {
    const raw = peer()
    await raw.handshake({ initialWindowBytes: 256 * KiB })
    const stream = raw.session.openStream('request')
    void stream.send(pattern(512 * KiB, 2)).catch(() => {})
    await raw.waitFor('data', (frame) => frame.type === 'data')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await raw.barrier()).toBe(true)
    expect(creditSpent(raw.frames, stream.id)).toBeGreaterThan(256 * KiB - 16 * KiB)
  })

  it('with bulkInFlightBytes raised to the window, a bulk stream spends the whole window', async () => {
    const raw = peer({ bulkInFlightBytes: 16 * 1024 * KiB })
    await raw.handshake({ initialWindowBytes: 256 * KiB })
    const stream = raw.session.openStream('request', { lane: 'bulk' })
    void stream.send(pattern(512 * KiB, 3)).catch(() => {})
    await raw.waitFor('data', (frame) => frame.type === 'data')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await raw.barrier()).toBe(true)
    expect(creditSpent(raw.frames, stream.id)).toBeGreaterThan(256 * KiB - 16 * KiB)
  })

  it('never stops below a quarter of the peer window, so a receiver that returns credit per quarter still answers', () => {
    expect(bulkInFlightLimit(64 * KiB, 1024 * KiB)).toBeGreaterThan(256 * KiB)
    expect(bulkInFlightLimit(64 * KiB, 64 * KiB)).toBe(64 * KiB)
  })

  it('bulkInFlightBytes under two credit batches is refused', () => {
    expect(() => resolveMuxConfig({ bulkInFlightBytes: BULK_CREDIT_BATCH_BYTES })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })
})

describe('the receiver returns a bulk stream’s credit in smaller batches', () => {
  for (const [lane, threshold] of [
    ['bulk', BULK_CREDIT_BATCH_BYTES],
    ['latency', 64 * KiB],
  ] as const) {
    it(`${lane}: a CREDIT once ${threshold / KiB} KiB were taken, not before`, async () => {
      const raw = peer()
      await raw.handshake()
      const incoming = nextIncoming(raw.session)
      await raw.send({ type: 'open', streamId: 2, purpose: 'request', lane })
      const stream = await incoming
      const chunk = 4 * KiB - DATA_FRAME_CREDIT_BYTES
      const credits = () => raw.frames.filter((frame) => frame.type === 'credit' && frame.streamId === 2)
      let taken = 0
      while (taken + chunk + DATA_FRAME_CREDIT_BYTES < threshold) {
        await raw.send({ type: 'data', streamId: 2, fin: true, payload: pattern(chunk, taken) }, lane)
        await stream.receive()
        taken += chunk + DATA_FRAME_CREDIT_BYTES
      }
      expect(await raw.barrier()).toBe(true)
      expect(credits()).toHaveLength(0)
      await raw.send({ type: 'data', streamId: 2, fin: true, payload: pattern(chunk, taken) }, lane)
      await stream.receive()
      expect(await raw.barrier()).toBe(true)
      expect(credits()).toHaveLength(1)
      expect(credits()[0]).toMatchObject({ increment: taken + chunk + DATA_FRAME_CREDIT_BYTES })
    })
  }
})

describe('a paced bulk stream between two sessions', () => {
  it('delivers 4 MiB complete and in order beside a latency stream', async () => {
    const { a: linkA, b: linkB } = createMemoryLinkPair()
    const a = new MuxSession(linkA, { initiator: true })
    const b = new MuxSession(linkB, { initiator: false })
    await Promise.all([a.ready, b.ready])
    const bulk = a.openStream('request', { lane: 'bulk' })
    const bulkIn = nextIncoming(b)
    const messages = Array.from({ length: 64 }, (_, i) => pattern(64 * KiB, i))
    const sent = Promise.all(messages.map((message) => bulk.send(message)))
    bulk.close()
    const received = readAll(await bulkIn)
    const small = a.openStream('request')
    const smallIn = nextIncoming(b)
    await small.send(Uint8Array.of(7))
    small.close()
    expect((await readAll(await smallIn)).map((message) => message[0])).toEqual([7])
    await sent
    const got = await received
    expect(got).toHaveLength(messages.length)
    expect(got.every((message, i) => sameBytes(message, messages[i]!))).toBe(true)
    a.abort()
    b.abort()
  })
})

describe('a bulk stream holds back only while latency-lane messages flow', () => {
  const ALONE_AFTER_MS = 40
  const aloneAfter = () => new Promise((resolve) => setTimeout(resolve, 3 * ALONE_AFTER_MS))

  /** The raw peer opens latency-lane stream 2 and sends one small message on it. */
  async function latencyMessage(raw: ReturnType<typeof peer>, streamId: number): Promise<void> {
    await raw.send({ type: 'open', streamId, purpose: 'request', lane: 'latency' })
    await raw.send({ type: 'data', streamId, fin: true, payload: Uint8Array.of(1) })
  }

  it('alone, it spends up to bulkAloneInFlightBytes; after a latency-lane message, no more than the paced limit', async () => {
    const raw = peer({ bulkAloneInFlightBytes: 192 * KiB, bulkAloneAfterMs: ALONE_AFTER_MS })
    await raw.handshake({ initialWindowBytes: 256 * KiB })
    const paced = bulkInFlightLimit(raw.session.config.bulkInFlightBytes, 256 * KiB)
    const stream = raw.session.openStream('request', { lane: 'bulk' })
    void stream.send(pattern(2048 * KiB, 4)).catch(() => {})
    await raw.waitFor('data', (frame) => frame.type === 'data')
    expect(await raw.barrier()).toBe(true)
    const alone = creditSpent(raw.frames, stream.id)
    expect(alone).toBeLessThanOrEqual(192 * KiB)
    expect(alone).toBeGreaterThan(192 * KiB - 16 * KiB)
    expect(stream.bulkInFlightLimit).toBe(192 * KiB)
    // A small message arrives on the latency lane; then all the credit comes back: only the paced limit goes out.
    await latencyMessage(raw, 2)
    expect(await raw.barrier()).toBe(true)
    await raw.send({ type: 'credit', streamId: stream.id, increment: alone })
    expect(await raw.barrier()).toBe(true)
    const busy = creditSpent(raw.frames, stream.id) - alone
    expect(busy).toBeLessThanOrEqual(paced)
    expect(busy).toBeGreaterThan(paced - 16 * KiB)
    // Quiet again for bulkAloneAfterMs: credit back lets it spend up to the alone limit once more.
    await aloneAfter()
    await raw.send({ type: 'credit', streamId: stream.id, increment: busy })
    expect(await raw.barrier()).toBe(true)
    const again = creditSpent(raw.frames, stream.id) - alone - busy
    expect(again).toBeLessThanOrEqual(192 * KiB)
    expect(again).toBeGreaterThan(192 * KiB - 16 * KiB)
  })

  it('its own latency-lane sends hold it back too', async () => {
    const raw = peer({ bulkAloneAfterMs: 60_000 })
    await raw.handshake({ initialWindowBytes: 256 * KiB })
    const paced = bulkInFlightLimit(raw.session.config.bulkInFlightBytes, 256 * KiB)
    const small = raw.session.openStream('request')
    await small.send(Uint8Array.of(9))
    const stream = raw.session.openStream('request', { lane: 'bulk' })
    void stream.send(pattern(512 * KiB, 5)).catch(() => {})
    await raw.waitFor('data', (frame) => frame.type === 'data' && frame.streamId === stream.id)
    expect(await raw.barrier()).toBe(true)
    expect(creditSpent(raw.frames, stream.id)).toBeLessThanOrEqual(paced)
  })

  it('a receiver that floods credit cannot take it past maxBulkInFlightBytes', async () => {
    const ceiling = 128 * KiB
    const raw = peer({ bulkAloneAfterMs: ALONE_AFTER_MS, maxBulkInFlightBytes: ceiling })
    await raw.handshake({ initialWindowBytes: 256 * KiB })
    const stream = raw.session.openStream('request', { lane: 'bulk' })
    void stream.send(pattern(8192 * KiB, 6)).catch(() => {})
    await raw.waitFor('data', (frame) => frame.type === 'data')
    expect(await raw.barrier()).toBe(true)
    // Credit far beyond what was spent, again and again (a window grown to 16 MiB), as fast as it
    // can: each CREDIT gives back at most what was out, so each lets at most the ceiling more go.
    expect(creditSpent(raw.frames, stream.id)).toBeLessThanOrEqual(ceiling)
    const floods = 8
    for (let i = 0; i < floods; i++) {
      await raw.send({ type: 'credit', streamId: stream.id, increment: 2048 * KiB })
      expect(await raw.barrier()).toBe(true)
      expect(stream.bulkInFlightLimit).toBeLessThanOrEqual(ceiling)
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(creditSpent(raw.frames, stream.id)).toBeLessThanOrEqual((floods + 1) * ceiling)
  })

  it('a peer flooding latency-lane messages only keeps it at the paced limit: everything still arrives, in order', async () => {
    const { a: linkA, b: linkB } = createMemoryLinkPair()
    const a = new MuxSession(linkA, { initiator: true, config: { bulkAloneAfterMs: ALONE_AFTER_MS } })
    const b = new MuxSession(linkB, { initiator: false })
    await Promise.all([a.ready, b.ready])
    const chatter = b.openStream('request')
    const chatterIn = nextIncoming(a)
    let chatting = true
    const chatted = (async () => {
      while (chatting) await chatter.send(Uint8Array.of(1))
      chatter.close()
    })()
    const chatterRead = chatterIn.then(readAll)
    const bulk = a.openStream('request', { lane: 'bulk' })
    const bulkIn = nextIncoming(b)
    const messages = Array.from({ length: 32 }, (_, i) => pattern(64 * KiB, i + 100))
    const sent = Promise.all(messages.map((message) => bulk.send(message)))
    bulk.close()
    const got = await readAll(await bulkIn)
    await sent
    chatting = false
    await chatted
    expect((await chatterRead).length).toBeGreaterThan(0)
    expect(got).toHaveLength(messages.length)
    expect(got.every((message, i) => sameBytes(message, messages[i]!))).toBe(true)
    a.abort()
    b.abort()
  })
})
