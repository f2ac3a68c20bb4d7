/**
 * Pacing of bulk-lane streams (src/mux/bulk-pacing.ts): a bulk stream's sender keeps at most
 * `bulkInFlightBytes` of credit unreturned, whatever window the peer grants; the receiver gives a
 * bulk stream's credit back in batches of BULK_CREDIT_BATCH_BYTES; latency-lane streams are not
 * paced; and a paced bulk stream still delivers everything, in order.
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
    const raw = peer()
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
