/**
 * The two link lanes (src/mux/lanes.ts): a stream's frames travel on the lane its OPEN named, every
 * other frame on the latency lane; the latency lane overtakes a slow bulk lane without reordering any
 * stream; bulk-lane frames that overtake their OPEN are held, within a bound; a peer that puts frames
 * on the wrong lane gets a protocol error.
 */
import { describe, expect, it } from 'vitest'
import { DATA_FRAME_CREDIT_BYTES } from '../../src/mux/frame.js'
import { HELD_FRAME_OVERHEAD_BYTES } from '../../src/mux/lanes.js'
import { MuxSession } from '../../src/mux/session.js'
import { createMemoryLinkPair } from '../../src/transport/memory-link.js'
import { nextIncoming, pattern, readAll, sameBytes } from './helpers.js'
import { rawPeersDisposedAfterEach, until } from './raw-peer.js'

const peer = rawPeersDisposedAfterEach()
const protocolError = { reason: 'protocol-error', message: expect.stringContaining('broke the mux protocol') }

describe('lanes between two sessions', () => {
  it('a small message on a latency stream overtakes bulk data on a slow bulk lane; both streams keep order and lose nothing', async () => {
    const { a: linkA, b: linkB } = createMemoryLinkPair({ bulkLaneDelayMs: 40 })
    const a = new MuxSession(linkA, { initiator: true })
    const b = new MuxSession(linkB, { initiator: false })
    await Promise.all([a.ready, b.ready])
    const arrived: string[] = []
    const bulk = a.openStream('request', { lane: 'bulk' })
    const bulkIn = nextIncoming(b)
    const bulkMessages = Array.from({ length: 20 }, (_, i) => pattern(20_000, i))
    const bulkSent = Promise.all(bulkMessages.map((message) => bulk.send(message)))
    bulk.close()
    const bulkStream = await bulkIn
    expect(bulkStream.lane).toBe('bulk')
    const bulkRead = readAll(bulkStream).then((messages) => {
      arrived.push('bulk done')
      return messages
    })
    const small = a.openStream('request')
    const smallIn = nextIncoming(b)
    for (let i = 0; i < 5; i++) void small.send(Uint8Array.of(i))
    small.close()
    const smallStream = await smallIn
    expect(smallStream.lane).toBe('latency')
    const smallMessages = await readAll(smallStream)
    arrived.push('small done')
    expect(smallMessages.map((message) => message[0])).toEqual([0, 1, 2, 3, 4])
    const received = await bulkRead
    await bulkSent
    expect(arrived).toEqual(['small done', 'bulk done'])
    expect(received).toHaveLength(bulkMessages.length)
    expect(received.every((message, i) => sameBytes(message, bulkMessages[i]!))).toBe(true)
    a.abort()
    b.abort()
  })
})

describe('what the session writes on which lane', () => {
  it('a bulk stream: OPEN (flagged) on the latency lane, DATA and CLOSE on the bulk lane; CREDIT on the latency lane', async () => {
    const raw = peer()
    await raw.handshake()
    const stream = raw.session.openStream('port', { lane: 'bulk' })
    await stream.send(pattern(100, 1))
    stream.close()
    const close = await raw.waitFor('close', (frame) => frame.type === 'close')
    const laneOf = (type: string) => raw.frameLanes[raw.frames.findIndex((frame) => frame.type === type)]
    expect(raw.frames.find((frame) => frame.type === 'open')).toEqual({ type: 'open', streamId: stream.id, purpose: 'port', lane: 'bulk' })
    expect(laneOf('open')).toBe('latency')
    expect(laneOf('data')).toBe('bulk')
    expect(raw.frameLanes[raw.frames.indexOf(close)]).toBe('bulk')
  })

  it('a bulk stream the peer opened gets its DATA from the bulk lane, even before its OPEN arrives (held, then in order)', async () => {
    const raw = peer()
    await raw.handshake()
    const incoming = nextIncoming(raw.session)
    await raw.send({ type: 'data', streamId: 2, fin: true, payload: pattern(10, 1) }, 'bulk')
    await raw.send({ type: 'data', streamId: 2, fin: true, payload: pattern(10, 2) }, 'bulk')
    await raw.send({ type: 'close', streamId: 2 }, 'bulk')
    expect(await raw.barrier()).toBe(true)
    expect(raw.session.streamCount).toBe(0)
    await raw.send({ type: 'open', streamId: 2, purpose: 'request', lane: 'bulk' })
    const stream = await incoming
    const messages = await readAll(stream)
    expect(messages).toHaveLength(2)
    expect(sameBytes(messages[0]!, pattern(10, 1)) && sameBytes(messages[1]!, pattern(10, 2))).toBe(true)
    expect(raw.session.state).toBe('open')
  })
})

describe('a peer on the wrong lane', () => {
  it.each([
    ['a CREDIT', { type: 'credit', streamId: 1, increment: 100 }],
    ['an OPEN', { type: 'open', streamId: 2, purpose: 'request', lane: 'bulk' }],
    ['a PING', { type: 'ping', payload: new Uint8Array(8) }],
    ['a RESET', { type: 'reset', streamId: 1, reason: 'closed', message: '' }],
  ] as const)('%s on the bulk lane is a protocol error', async (_, frame) => {
    const raw = peer()
    await raw.handshake()
    raw.session.openStream()
    await raw.send(frame, 'bulk')
    await expect(raw.closed).resolves.toMatchObject({ ...protocolError, message: expect.stringContaining(`a ${frame.type} frame on the bulk lane`) })
  })

  it('DATA of a latency stream on the bulk lane is a protocol error', async () => {
    const raw = peer()
    await raw.handshake()
    await raw.send({ type: 'open', streamId: 2, purpose: 'request' })
    await raw.send({ type: 'data', streamId: 2, fin: true, payload: pattern(10, 1) }, 'bulk')
    await expect(raw.closed).resolves.toMatchObject({ ...protocolError, message: expect.stringContaining('latency-lane stream 2 on the bulk lane') })
  })

  it('DATA or CLOSE of a bulk stream on the latency lane is a protocol error', async () => {
    for (const frame of [
      { type: 'data', streamId: 2, fin: true, payload: pattern(10, 1) },
      { type: 'close', streamId: 2 },
    ] as const) {
      const raw = peer()
      await raw.handshake()
      await raw.send({ type: 'open', streamId: 2, purpose: 'request', lane: 'bulk' })
      await raw.send(frame, 'latency')
      await expect(raw.closed).resolves.toMatchObject({ ...protocolError, message: expect.stringContaining('bulk-lane stream 2 on the latency lane') })
    }
  })

  it('held bulk-lane frames for a stream not yet opened: one initial window of credit, a byte more is a protocol error', async () => {
    const windowBytes = 1024
    const payloadBytes = 256 - DATA_FRAME_CREDIT_BYTES
    const raw = peer({ initialWindowBytes: windowBytes })
    await raw.handshake()
    // Exactly the window: 4 frames of 256 bytes of credit each.
    for (let i = 0; i < 4; i++) await raw.send({ type: 'data', streamId: 2, fin: false, payload: new Uint8Array(payloadBytes) }, 'bulk')
    expect(await raw.barrier()).toBe(true)
    expect(raw.session.state).toBe('open')
    expect(raw.session.stats().inboundBytes).toBe(4 * (payloadBytes + 6 + HELD_FRAME_OVERHEAD_BYTES))
    await raw.send({ type: 'data', streamId: 2, fin: false, payload: new Uint8Array(1) }, 'bulk')
    await expect(raw.closed).resolves.toMatchObject({ ...protocolError, message: expect.stringContaining(`more than the ${windowBytes}-byte initial window`) })
  })

  it('held bulk-lane frames: a frame after a held CLOSE, or more ids than the peer may open, is a protocol error', async () => {
    const raw = peer()
    await raw.handshake()
    await raw.send({ type: 'close', streamId: 2 }, 'bulk')
    await raw.send({ type: 'close', streamId: 2 }, 'bulk')
    await expect(raw.closed).resolves.toMatchObject({ ...protocolError, message: expect.stringContaining('after the CLOSE of stream 2') })
    const crowd = peer({ maxStreams: 2 })
    await crowd.handshake()
    for (const streamId of [2, 4, 6]) await crowd.send({ type: 'close', streamId }, 'bulk')
    await expect(crowd.closed).resolves.toMatchObject({ ...protocolError, message: expect.stringContaining('more stream ids than the peer may open (2)') })
  })

  it('frames of an open bulk stream are not held behind frames of a stream whose OPEN has not come', async () => {
    const raw = peer()
    await raw.handshake()
    const incoming = nextIncoming(raw.session)
    await raw.send({ type: 'open', streamId: 2, purpose: 'request', lane: 'bulk' })
    const open = await incoming
    await raw.send({ type: 'data', streamId: 4, fin: true, payload: pattern(10, 4) }, 'bulk')
    await raw.send({ type: 'data', streamId: 2, fin: true, payload: pattern(10, 2) }, 'bulk')
    expect(sameBytes(await open.receive(), pattern(10, 2))).toBe(true)
    const later = nextIncoming(raw.session)
    await raw.send({ type: 'open', streamId: 4, purpose: 'request', lane: 'bulk' })
    expect(sameBytes(await (await later).receive(), pattern(10, 4))).toBe(true)
  })

  it('held bulk-lane frames count in the inbound budget: a stream whose frames do not fit is refused with tooManyStreams', async () => {
    const raw = peer({ initialWindowBytes: 4096, maxWindowBytes: 4096, maxInboundBytes: 4096 })
    await raw.handshake()
    await raw.send({ type: 'data', streamId: 2, fin: false, payload: new Uint8Array(2048) }, 'bulk')
    await raw.send({ type: 'data', streamId: 4, fin: false, payload: new Uint8Array(2048) }, 'bulk')
    expect(await raw.barrier()).toBe(true)
    expect(raw.session.state).toBe('open')
    expect(raw.session.stats().inboundBytes).toBe(2048 + 6 + HELD_FRAME_OVERHEAD_BYTES)
    await raw.send({ type: 'open', streamId: 4, purpose: 'request', lane: 'bulk' })
    expect(await raw.waitFor('the reset', (frame) => frame.type === 'reset' && frame.streamId === 4)).toMatchObject({
      type: 'reset',
      streamId: 4,
      reason: 'tooManyStreams',
    })
  })

  it('a batch over the frame limit on the bulk lane is a protocol error', async () => {
    const raw = peer({ maxFrameBytes: 1024 })
    await raw.handshake()
    const batch = new Uint8Array(1025)
    batch[0] = 0x0a
    await raw.sendRaw(batch, 'bulk')
    await expect(raw.closed).resolves.toMatchObject({ ...protocolError, message: expect.stringContaining('over the 1024-byte limit') })
  })

  it('bulk-lane frames before the HELLO are held until it arrives, then handled', async () => {
    const raw = peer()
    await raw.send({ type: 'data', streamId: 2, fin: true, payload: pattern(10, 1) }, 'bulk')
    await until('the frame to arrive', () => raw.session.state === 'handshaking')
    const incoming = nextIncoming(raw.session)
    await raw.handshake()
    await raw.send({ type: 'open', streamId: 2, purpose: 'request', lane: 'bulk' })
    const stream = await incoming
    expect(sameBytes(await stream.receive(), pattern(10, 1))).toBe(true)
  })
})

describe('a port claimed before its OPEN (a value on the bulk lane overtook it)', () => {
  it('is taken at once, learns its lane from the OPEN, and sends only then', async () => {
    const raw = peer()
    await raw.handshake()
    const stream = raw.session.claimStream(2)
    expect(stream).toBeDefined()
    expect(raw.session.claimStream(2)).toBeUndefined()
    const sent = stream!.send(pattern(10, 7))
    sent.catch(() => {})
    expect(await raw.barrier()).toBe(true)
    expect(raw.frames.some((frame) => frame.type === 'data' && frame.streamId === 2)).toBe(false)
    await raw.send({ type: 'data', streamId: 2, fin: true, payload: pattern(10, 2) }, 'bulk')
    await raw.send({ type: 'open', streamId: 2, purpose: 'port', lane: 'bulk' })
    expect(await raw.barrier()).toBe(true)
    expect(stream!.lane).toBe('bulk')
    await sent
    expect(await raw.waitFor('its data', (frame) => frame.type === 'data' && frame.streamId === 2)).toMatchObject({ streamId: 2 })
    expect(sameBytes(await stream!.receive(), pattern(10, 2))).toBe(true)
  })

  it('fails with BAD_PORT when its OPEN does not come in time; a frame of it before its OPEN is a protocol error', async () => {
    const raw = peer({ unclaimedStreamTimeoutMs: 20 })
    await raw.handshake()
    const stream = raw.session.claimStream(2)!
    await expect(stream.receive()).rejects.toMatchObject({ code: 'BAD_PORT' })
    expect(raw.session.streamCount).toBe(0)
    raw.session.claimStream(4)
    await raw.send({ type: 'data', streamId: 4, fin: true, payload: pattern(10, 4) })
    await expect(raw.closed).resolves.toMatchObject({ ...protocolError, message: expect.stringContaining('before its OPEN') })
  })
})
