/**
 * Batches (src/mux/batch.ts, since mux version 2; every accepted peer takes them): golden bytes, the
 * splitter's refusals, what a session packs into one link message, and what it does with batches
 * from a peer.
 */
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { BatchWriter, splitBatch } from '../../src/mux/batch.js'
import { FrameType, MAX_FRAME_BYTES, encodeFrame, parseFrame, type Frame } from '../../src/mux/frame.js'
import { pattern, sameBytes } from './helpers.js'
import { rawPeer, type RawPeer } from './raw-peer.js'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
const bytesOf = (spaced: string): Uint8Array => new Uint8Array(Buffer.from(spaced.replace(/\s+/g, ''), 'hex'))

/** A batch of `frames`, built by hand (length u16 before each). */
function batchOf(...frames: Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(FrameType.batch, 0, 0, 0, 0, 0)]
  for (const frame of frames) parts.push(Uint8Array.of(frame.byteLength >> 8, frame.byteLength & 0xff), frame)
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}

describe('batch bytes', () => {
  it('golden: an OPEN and a DATA with FIN in one batch', () => {
    const writer = new BatchWriter(MAX_FRAME_BYTES)
    writer.addFrame({ type: 'open', streamId: 1, purpose: 'request' })
    writer.addData(1, true, bytesOf('cafe'))
    expect(hex(writer.finish())).toBe('0a0000000000' + '0007' + '01000000000101' + '0008' + '0201000000 01cafe'.replace(/\s/g, ''))
    const split = splitBatch(writer.finish())
    expect(split.ok && split.frames.map((f) => parseFrame(f))).toEqual([
      { ok: true, frame: { type: 'open', streamId: 1, purpose: 'request' } },
      { ok: true, frame: { type: 'data', streamId: 1, fin: true, payload: bytesOf('cafe') } },
    ])
  })

  it('every frame type written in place into a batch is byte for byte its encodeFrame', () => {
    const frames: Frame[] = [
      { type: 'open', streamId: 7, purpose: 'port' },
      { type: 'credit', streamId: 7, increment: 0xfedcba98 },
      { type: 'close', streamId: 9 },
      { type: 'stop', streamId: 9, reason: 'dropped' },
      { type: 'reset', streamId: 11, reason: 'protocolError', message: 'ünïcödé ✓' },
      { type: 'reset', streamId: 11, reason: 'closed', message: '' },
      { type: 'ping', payload: bytesOf('0102030405060708') },
      { type: 'pong', payload: bytesOf('0807060504030201') },
      { type: 'goaway', reason: 'goingAway' },
      { type: 'data', streamId: 13, fin: true, payload: bytesOf('abcdef') },
    ]
    const writer = new BatchWriter(MAX_FRAME_BYTES)
    for (const frame of frames) expect(writer.addFrame(frame)).toBe(true)
    const split = splitBatch(writer.finish())
    expect(split.ok && split.frames.map(hex)).toEqual(frames.map((frame) => hex(encodeFrame(frame))))
  })

  it('a lone frame is written as itself, not as a batch', () => {
    const writer = new BatchWriter(MAX_FRAME_BYTES)
    writer.addData(3, false, bytesOf('0102'))
    expect(hex(writer.finish())).toBe('020000000003' + '0102')
  })

  it('the writer fills up to maxFrameBytes and refuses a frame that does not fit', () => {
    const writer = new BatchWriter(MAX_FRAME_BYTES)
    expect(writer.dataRoom).toBe(MAX_FRAME_BYTES - 6)
    writer.addData(1, false, new Uint8Array(1000))
    writer.addData(3, true, new Uint8Array(writer.dataRoom))
    expect(writer.finish().byteLength).toBe(MAX_FRAME_BYTES)
    expect(writer.dataRoom).toBeLessThan(0)
    expect(writer.addFrame({ type: 'close', streamId: 5 })).toBe(false)
    expect(() => writer.addData(5, true, new Uint8Array(0))).toThrow(RangeError)
    expect(writer.count).toBe(2)
    writer.reset()
    writer.addData(1, true, new Uint8Array(MAX_FRAME_BYTES - 6)) // a full lone frame still fits
    expect(writer.finish().byteLength).toBe(MAX_FRAME_BYTES)
  })

  const close = encodeFrame({ type: 'close', streamId: 9 })
  const refusals: Array<[string, Uint8Array, RegExp]> = [
    ['no entries', batchOf(), /empty batch/],
    [
      'flags set',
      (() => {
        const b = batchOf(close)
        b[1] = 1
        return b
      })(),
      /no flags/,
    ],
    [
      'a stream id',
      (() => {
        const b = batchOf(close)
        b[5] = 1
        return b
      })(),
      /stream 0/,
    ],
    ['a length cut in half', batchOf(close, close).subarray(0, 6 + 2 + close.byteLength + 1), /inside an entry length/],
    ['an entry shorter than a frame header', bytesOf('0a0000000000 0005 0400000009'), /shorter than a frame header/],
    ['an entry running past the end', bytesOf('0a0000000000 0007 04000000 09'), /past the end/],
    ['a batch inside a batch', batchOf(batchOf(close, close)), /may not hold a batch/],
    ['a hello inside a batch', batchOf(encodeFrame({ type: 'hello', version: 2, initialWindowBytes: 1024, maxItemBytes: 1 })), /may not hold a hello/],
  ]
  it.each(refusals)('refuses %s', (_what, bytes, reason) => {
    const split = splitBatch(bytes)
    expect(split.ok).toBe(false)
    expect(!split.ok && split.reason).toMatch(reason)
  })

  it('property: never throws on any bytes, and splits what the writer builds back into the same frames', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        splitBatch(bytes)
        splitBatch(Uint8Array.of(FrameType.batch, 0, 0, 0, 0, 0, ...bytes))
      }),
      { numRuns: 2000 },
    )
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 0xffff }), fc.boolean(), fc.uint8Array({ maxLength: 600 })), { minLength: 2, maxLength: 20 }),
        (datas) => {
          const writer = new BatchWriter(MAX_FRAME_BYTES)
          const added: Frame[] = []
          for (const [streamId, fin, payload] of datas) {
            if (payload.byteLength > writer.dataRoom) break
            writer.addData(streamId, fin, payload)
            added.push({ type: 'data', streamId, fin, payload })
          }
          const message = writer.finish()
          const frames = added.length === 1 ? [message] : (splitBatch(message) as { ok: true; frames: Uint8Array[] }).frames
          expect(frames.map((f) => parseFrame(f))).toEqual(added.map((frame) => ({ ok: true, frame })))
        },
      ),
    )
  })
})

describe('sessions and batches', () => {
  let peers: RawPeer[] = []
  const peer = (...args: Parameters<typeof rawPeer>) => {
    const created = rawPeer(...args)
    peers.push(created)
    return created
  }
  afterEach(async () => {
    await Promise.all(peers.map((p) => p.dispose()))
    peers = []
  })

  it('what the same code queues leaves in one link message: OPEN, a message and CLOSE', async () => {
    const raw = peer()
    await raw.handshake()
    const before = raw.frames.length
    const stream = raw.session.openStream()
    void stream.send(Uint8Array.of(7, 8, 9))
    stream.close()
    await raw.waitFor('the CLOSE', (frame) => frame.type === 'close', before)
    expect(raw.frames.slice(before)).toEqual([
      { type: 'open', streamId: 1, purpose: 'request' },
      { type: 'data', streamId: 1, fin: true, payload: Uint8Array.of(7, 8, 9) },
      { type: 'close', streamId: 1 },
    ])
    expect(raw.batches()).toBe(1)
  })

  it('a burst of small messages on several streams is packed, each stream in order, every batch within maxFrameBytes', async () => {
    const raw = peer()
    const sizes: number[] = []
    raw.link.events.on('message', (bytes) => sizes.push(bytes.byteLength))
    await raw.handshake()
    const streams = [raw.session.openStream(), raw.session.openStream(), raw.session.openStream()]
    const sent = streams.flatMap((stream, s) => Array.from({ length: 200 }, (_, i) => stream.send(pattern(100, s * 1000 + i))))
    await Promise.all(sent)
    await raw.barrier()
    for (const [s, stream] of streams.entries()) {
      const payloads = raw.frames.filter((f): f is Extract<Frame, { type: 'data' }> => f.type === 'data' && f.streamId === stream.id).map((f) => f.payload)
      expect(payloads).toHaveLength(200)
      for (const [i, payload] of payloads.entries()) expect(sameBytes(payload, pattern(100, s * 1000 + i))).toBe(true)
    }
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_FRAME_BYTES)
    expect(sizes.length).toBeLessThan(60) // 600 messages of 106+ bytes: about 150 per batch, not one each
  })

  it('a frame queued while the writer is idle goes to the link a microtask later: nothing waits to gather', async () => {
    const raw = peer()
    await raw.handshake()
    await new Promise((resolve) => setTimeout(resolve, 5)) // whatever followed the handshake has gone
    const writes: number[] = []
    const send = raw.sessionLink.send.bind(raw.sessionLink)
    raw.sessionLink.send = (data) => {
      writes.push(data.byteLength)
      return send(data)
    }
    const stream = raw.session.openStream()
    void stream.send(Uint8Array.of(1, 2, 3))
    await Promise.resolve()
    await Promise.resolve()
    expect(writes).toHaveLength(1)
  })

  it('frames queued while a lone message waits for the link are written once it is taken, without another frame to start the writer', async () => {
    const raw = peer()
    await raw.handshake()
    await new Promise((resolve) => setTimeout(resolve, 5))
    // A slow link: each send resolves 2 ms later, so the messages are no burst and nobody gathers.
    const send = raw.sessionLink.send.bind(raw.sessionLink)
    let messages = 0
    raw.sessionLink.send = async (data) => {
      messages++
      await new Promise((resolve) => setTimeout(resolve, 2))
      return send(data)
    }
    const stream = raw.session.openStream()
    const first = stream.send(Uint8Array.of(1))
    await first // packed: the writer now waits on the link with it
    const second = stream.send(Uint8Array.of(2))
    // Nothing else happens on the session (no frame from the peer, no other send) until it is written.
    await Promise.race([second, new Promise((_, reject) => setTimeout(() => reject(new Error('the second value was never written')), 100))])
    expect(messages).toBe(2)
  })

  it('right after a message with room left, the writer gathers: values queued a few microtasks apart leave together', async () => {
    const raw = peer()
    await raw.handshake()
    await new Promise((resolve) => setTimeout(resolve, 5))
    let messages = 0
    const send = raw.sessionLink.send.bind(raw.sessionLink)
    raw.sessionLink.send = (data) => {
      messages++
      return send(data)
    }
    const stream = raw.session.openStream()
    // Each value a few microtask turns after the previous one, as from a loop that awaits a chain of async calls.
    const spaced = async (value: number) => {
      for (let turn = 0; turn < 8; turn++) await Promise.resolve()
      void stream.send(Uint8Array.of(value))
    }
    for (let value = 0; value < 50; value++) await spaced(value)
    await raw.barrier()
    const payloads = raw.frames.filter((f): f is Extract<Frame, { type: 'data' }> => f.type === 'data' && f.streamId === stream.id).map((f) => f.payload[0])
    expect(payloads).toEqual(Array.from({ length: 50 }, (_, i) => i))
    // The first leaves alone (the writer was idle); the rest gather (at most GATHER_MAX_TURNS each time).
    expect(messages).toBeLessThan(50 / 2)
  })

  it('frames in a batch from the peer are handled in order, as if sent one by one', async () => {
    const raw = peer()
    await raw.handshake()
    const received = new Promise<Uint8Array[]>((resolve) => {
      raw.session.events.once('stream', async (stream) => {
        const messages: Uint8Array[] = []
        for (let m = await stream.receive(); m !== null; m = await stream.receive()) messages.push(m)
        resolve(messages)
      })
    })
    await raw.sendRaw(
      batchOf(
        encodeFrame({ type: 'open', streamId: 2, purpose: 'request' }),
        encodeFrame({ type: 'data', streamId: 2, fin: false, payload: Uint8Array.of(1) }),
        encodeFrame({ type: 'data', streamId: 2, fin: true, payload: Uint8Array.of(2) }),
        encodeFrame({ type: 'data', streamId: 2, fin: true, payload: Uint8Array.of(3) }),
        encodeFrame({ type: 'close', streamId: 2 }),
      ),
    )
    expect(await received).toEqual([Uint8Array.of(1, 2), Uint8Array.of(3)])
    expect(raw.session.state).toBe('open')
  })

  const broken: Array<[string, () => Uint8Array, RegExp]> = [
    ['a malformed batch', () => bytesOf('0a0000000000 0005 0400000009'), /shorter than a frame header/],
    ['a malformed frame inside a batch', () => batchOf(encodeFrame({ type: 'close', streamId: 2 }), bytesOf('ff0000000000')), /unknown frame type 255/],
    [
      'a batch over maxFrameBytes',
      () => batchOf(...Array.from({ length: 3 }, () => encodeFrame({ type: 'data', streamId: 2, fin: false, payload: new Uint8Array(6000) }))),
      /over the 16384-byte limit/,
    ],
  ]
  it.each(broken)('%s is a protocol error that ends the session', async (_what, bytes, reason) => {
    const raw = peer()
    await raw.handshake()
    await raw.sendRaw(bytes())
    expect(await raw.closed).toMatchObject({ reason: 'protocol-error', message: expect.stringMatching(reason) })
  })
})
