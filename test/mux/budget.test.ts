/**
 * What a hostile peer can make a session hold (docs/architecture.md "Resource budgets", part mux).
 * Each test performs the attack with a raw mux peer first, then asserts the refusal or backpressure
 * and that memory (heap + ArrayBuffers after a full GC) grew by no more than the budget plus
 * MEMORY_SLACK_BYTES: the test's own objects (frames the raw peer recorded, chunk records, timers).
 */
import { describe, expect, it } from 'vitest'
import { DATA_FRAME_CREDIT_BYTES, encodeFrame, type Frame } from '../../src/mux/frame.js'
import { BATCH_ENTRY_PREFIX_BYTES } from '../../src/mux/batch.js'
import { BLOCK_OVERHEAD_BYTES, CHUNK_OVERHEAD_BYTES, RUN_OVERHEAD_BYTES } from '../../src/mux/chunk-run.js'
import { memoryAfterGc } from './memory.js'
import { nextIncoming, tick } from './helpers.js'
import { batchOf, rawPeersDisposedAfterEach, until, type RawPeer } from './raw-peer.js'

const MiB = 1024 * 1024
const MEMORY_SLACK_BYTES = 8 * MiB

/** With MUX_ATTACK_REPORT=1, prints each attack's memory growth (for the table in the closing note). */
function report(attack: string, growthBytes: number): void {
  if (process.env.MUX_ATTACK_REPORT) console.log(`[attack] ${attack}: ${(growthBytes / MiB).toFixed(1)} MiB`)
}

const peer = rawPeersDisposedAfterEach()

describe('retained memory, not payload', () => {
  it('1-byte chunks in 16 KiB padded batches on a stream nobody reads retain about their bytes, not a link message each', async () => {
    const windowBytes = 64 * 1024
    const chunks = Math.floor(windowBytes / (1 + DATA_FRAME_CREDIT_BYTES))
    const raw = peer({ initialWindowBytes: windowBytes })
    await raw.handshake()
    // Stream 4 is opened and reset: DATA for it afterwards is ignored (a gone stream), so it pads.
    await raw.send({ type: 'open', streamId: 2, purpose: 'request' })
    await raw.send({ type: 'open', streamId: 4, purpose: 'request' })
    await raw.send({ type: 'reset', streamId: 4, reason: 'closed', message: '' })
    await raw.barrier()
    const before = memoryAfterGc()
    const padding = new Uint8Array(16 * 1024 - 6 - 7 - 4 * BATCH_ENTRY_PREFIX_BYTES - 16)
    for (let i = 0; i < chunks; i++) {
      await raw.sendRaw(
        batchOf([
          { type: 'data', streamId: 2, fin: false, payload: Uint8Array.of(i & 0xff) },
          { type: 'data', streamId: 4, fin: false, payload: padding },
        ]),
      )
    }
    expect(await raw.barrier()).toBe(true)
    const growth = memoryAfterGc() - before
    report('tiny chunks in padded batches', growth)
    expect(raw.frames.some((frame) => frame.type === 'reset')).toBe(false)
    // Copied and appended into one run: its overhead once, and blocks of at most 1.25 × the bytes (+ 64; a block per
    // quarter-growth step, about 14 here), not a link message each.
    const { inboundBytes, assemblyBytes } = raw.session.stats()
    expect(assemblyBytes).toBe(0)
    expect(inboundBytes).toBeGreaterThanOrEqual(RUN_OVERHEAD_BYTES + chunks)
    expect(inboundBytes).toBeLessThanOrEqual(RUN_OVERHEAD_BYTES + 1.25 * chunks + 64 + 16 * BLOCK_OVERHEAD_BYTES + 16)
    expect(growth).toBeLessThan(windowBytes + MEMORY_SLACK_BYTES)
  })

  it('a chunk that fills its link message stays a view of it (the copy-free bulk path)', async () => {
    const raw = peer()
    await raw.handshake()
    await raw.send({ type: 'open', streamId: 2, purpose: 'request' })
    const stream = await nextIncoming(raw.session)
    const payload = new Uint8Array(16 * 1024 - 6).fill(7)
    await raw.send({ type: 'data', streamId: 2, fin: true, payload })
    const [chunk] = (await stream.receiveParts())!
    expect(chunk!.byteLength).toBe(payload.byteLength)
    expect(chunk!.buffer.byteLength).toBe(16 * 1024) // the link message itself, not a copy
  })
})

describe('inbound budget', () => {
  it('streams assembling items withhold credit once the budget is full; only the head of line goes on, and every item completes in turn', async () => {
    const budget = 8 * MiB
    const itemBytes = 4 * MiB
    const streams = 8
    const raw = peer({ maxInboundBytes: budget, maxItemBytes: itemBytes })
    await raw.handshake()
    const received: Array<Promise<Uint8Array | null>> = []
    for (let i = 0; i < streams; i++) {
      const id = 2 + 2 * i
      const incoming = nextIncoming(raw.session)
      await raw.send({ type: 'open', streamId: id, purpose: 'request' })
      received.push((await incoming).receive()) // a reader waits: the item is assembled as it arrives
    }
    const before = memoryAfterGc()
    // All but the last byte of an item on every stream, as fast as credit allows: without a budget, 32 MiB.
    const sent = await Promise.all(Array.from({ length: streams }, (_, i) => raw.sendWhileCredit(2 + 2 * i, itemBytes - 1)))
    const total = sent.reduce((a, b) => a + b, 0)
    const growth = memoryAfterGc() - before
    report(`${streams} streams assembling ${itemBytes / MiB} MiB items (sent ${(total / MiB).toFixed(1)} MiB)`, growth)
    const bound = (budget * 8) / 7 + itemBytes + 256 * 1024
    expect(total).toBeLessThanOrEqual(bound)
    expect(raw.session.stats().inboundBytes).toBeLessThanOrEqual(bound)
    expect(growth).toBeLessThan(bound + MEMORY_SLACK_BYTES)
    expect(sent[0]).toBe(itemBytes - 1) // the head of line got all its credit
    // Finishing the items in order frees the budget for the next stream, which completes too.
    for (let i = 0; i < streams; i++) {
      const id = 2 + 2 * i
      await raw.sendWhileCredit(id, itemBytes - 1 - sent[i]!, { idleMs: 2_000 })
      await raw.send({ type: 'data', streamId: id, fin: true, payload: Uint8Array.of(1) })
      expect((await received[i]!)?.byteLength).toBe(itemBytes)
    }
    await until('the budget drains', () => raw.session.stats().inboundBytes === 0)
    expect(raw.session.stats().assemblyBytes).toBe(0)
  }, 15_000)

  it('DATA exactly up to the credit is taken; one byte past it resets that stream (protocolError) and the session goes on', async () => {
    const raw = peer({ initialWindowBytes: 4096 })
    await raw.handshake()
    await raw.send({ type: 'open', streamId: 2, purpose: 'request' })
    const payloadBytes = 4096 - DATA_FRAME_CREDIT_BYTES // the frame costs its payload and the charge
    await raw.send({ type: 'data', streamId: 2, fin: false, payload: new Uint8Array(payloadBytes) })
    await raw.barrier()
    expect(raw.frames.some((frame) => frame.type === 'reset')).toBe(false)
    // Copied (under 8 KiB) into a run: one block of exactly its bytes, and the run's ends array.
    expect(raw.session.stats().inboundBytes).toBe(RUN_OVERHEAD_BYTES + payloadBytes + BLOCK_OVERHEAD_BYTES + 16)
    await raw.send({ type: 'data', streamId: 2, fin: true, payload: new Uint8Array(0) })
    expect(await raw.waitFor('the RESET', (frame) => frame.type === 'reset')).toMatchObject({ streamId: 2, reason: 'protocolError' })
    expect(await raw.barrier()).toBe(true)
    expect(raw.session.stats()).toMatchObject({ streams: 0, inboundBytes: 0 })
  })

  it('admits a remote OPEN exactly while its window fits in the budget, and resets the next with tooManyStreams', async () => {
    const windowBytes = 64 * 1024
    const raw = peer({ initialWindowBytes: windowBytes, maxWindowBytes: windowBytes, maxInboundBytes: 3 * windowBytes })
    await raw.handshake()
    for (const id of [2, 4, 6, 8]) await raw.send({ type: 'open', streamId: id, purpose: 'request' })
    await raw.barrier()
    expect(raw.session.streamCount).toBe(3)
    expect(raw.frames.filter((frame) => frame.type === 'reset')).toEqual([
      { type: 'reset', streamId: 8, reason: 'tooManyStreams', message: `the inbound budget of ${3 * windowBytes} bytes is full` },
    ])
    expect(raw.session.stats()).toMatchObject({ streams: 3, grantedBytes: 3 * windowBytes })
  })

  it("streams this side opened do not count against the peer's OPENs: a burst of its own requests leaves room for the peer's", async () => {
    const windowBytes = 64 * 1024
    const raw = peer({ initialWindowBytes: windowBytes, maxWindowBytes: windowBytes, maxInboundBytes: 3 * windowBytes })
    await raw.handshake()
    for (let i = 0; i < 10; i++) raw.session.openStream('request') // ten windows of its own: more than the budget
    for (const id of [2, 4, 6, 8]) await raw.send({ type: 'open', streamId: id, purpose: 'request' })
    await raw.barrier()
    expect(raw.session.streamCount).toBe(10 + 3) // still three of the peer's, and the fourth refused
    expect(raw.frames.filter((frame) => frame.type === 'reset').map((frame) => frame.type === 'reset' && frame.streamId)).toEqual([8])
  })

  /** A stream whose reader keeps up, beside `idleStreams` unread ones that reserve their windows; returns its window after 40 messages. */
  async function windowAfterKeepingUp(idleStreams: number): Promise<number> {
    const raw = peer({ initialWindowBytes: 4096, maxWindowBytes: 16384, maxInboundBytes: 16384 })
    await raw.handshake()
    const incoming = nextIncoming(raw.session)
    await raw.send({ type: 'open', streamId: 2, purpose: 'request' })
    const stream = await incoming
    for (let i = 0; i < idleStreams; i++) await raw.send({ type: 'open', streamId: 4 + 2 * i, purpose: 'request' })
    for (let i = 0; i < 40; i++) {
      const reading = stream.receive()
      await raw.sendMessage(2, new Uint8Array(1024).fill(i))
      expect((await reading)!.byteLength).toBe(1024)
    }
    expect(await raw.barrier()).toBe(true)
    expect(raw.session.stats().grantedBytes).toBeLessThanOrEqual(16384)
    return stream.receiveWindow
  }

  it('a window grows only into room the budget has: fully, partly, or not at all beside streams that reserve the rest', async () => {
    // 16 KiB budget, 4 KiB windows: growing 4 → 8 KiB needs 4 KiB free, 8 → 16 KiB another 8 KiB.
    expect(await windowAfterKeepingUp(0)).toBe(16384)
    expect(await windowAfterKeepingUp(1)).toBe(8192)
    expect(await windowAfterKeepingUp(3)).toBe(4096) // the budget is full: the normal credit still goes back
  })
})

describe('control queue', () => {
  /** After the handshake, the session's link takes nothing more: the peer does not read. */
  async function notReadingPeer(config: Parameters<typeof peer>[0] = {}): Promise<RawPeer> {
    const raw = peer(config)
    await raw.handshake()
    await raw.barrier()
    raw.sessionLink.send = () => new Promise<void>(() => {})
    return raw
  }

  it('a PING flood from a peer that does not read leaves one PONG queued', async () => {
    const raw = await notReadingPeer()
    const before = memoryAfterGc()
    const ping = encodeFrame({ type: 'ping', payload: new Uint8Array(8) })
    const pings = Array.from({ length: 1000 }, () => ({ type: 'ping' as const, payload: new Uint8Array(8) }))
    for (let i = 0; i < 100; i++) await raw.sendRaw(batchOf(pings)) // 100 000 PINGs
    await raw.sendRaw(ping)
    await tick(10)
    const growth = memoryAfterGc() - before
    report('100 000 PINGs, not reading', growth)
    expect(raw.session.state).toBe('open')
    expect(raw.session.stats().controlQueued).toBeLessThanOrEqual(2) // one PONG, perhaps one keepalive PING
    expect(growth).toBeLessThan(MEMORY_SLACK_BYTES)
  })

  it('OPENs beyond maxStreams from a peer that does not read its RESETs fail the session with PEER_NOT_READING', async () => {
    const raw = await notReadingPeer({ maxStreams: 1, maxQueuedControlFrames: 4096 })
    const before = memoryAfterGc()
    let nextId = 2
    for (let i = 0; i < 60 && raw.session.state !== 'closed'; i++) {
      const opens: Frame[] = Array.from({ length: 1800 }, () => ({ type: 'open', streamId: (nextId += 2), purpose: 'request' }))
      await raw.sendRaw(batchOf(opens))
    }
    await tick(10)
    const growth = memoryAfterGc() - before
    report(`${(nextId - 2) / 2} OPENs over maxStreams, not reading`, growth)
    expect(raw.session.state).toBe('closed')
    const info = await raw.closed
    expect(info).toMatchObject({ reason: 'not-reading', message: expect.stringMatching(/4096 control frames/) })
    expect(growth).toBeLessThan(MEMORY_SLACK_BYTES)
  })

  it('accepts exactly maxQueuedControlFrames queued frames and fails at one more', async () => {
    const raw = await notReadingPeer({ maxStreams: 1, maxQueuedControlFrames: 100 })
    const stream = raw.session.openStream() // its OPEN goes to the (blocked) writer, not the queue
    const failed = stream.receive()
    failed.catch(() => {})
    const opens = (count: number, from: number): Frame[] =>
      Array.from({ length: count }, (_, i) => ({ type: 'open', streamId: from + 2 * i, purpose: 'request' }))
    await raw.sendRaw(batchOf(opens(101, 2))) // one admitted, 100 RESETs queued
    await tick(10)
    expect(raw.session.state).toBe('open')
    expect(raw.session.stats().controlQueued).toBe(100)
    await raw.sendRaw(batchOf(opens(1, 204)))
    expect(await raw.closed).toMatchObject({ reason: 'not-reading' })
    await expect(failed).rejects.toMatchObject({ code: 'PEER_NOT_READING' })
  })

  it('RESETs of port streams the peer opened and nobody claimed count as provoked: past maxQueuedControlFrames, PEER_NOT_READING', async () => {
    const config = { unclaimedStreamTimeoutMs: 20, maxQueuedControlFrames: 10 }
    const portOpens = (count: number): Frame[] => Array.from({ length: count }, (_, i) => ({ type: 'open', streamId: 2 + 2 * i, purpose: 'port' }))
    // Exactly the limit: the first timer's RESET goes to the link (whose send then never resolves), ten wait.
    const atLimit = await notReadingPeer(config)
    await atLimit.sendRaw(batchOf(portOpens(11)))
    await until('the unclaimed RESETs are queued', () => atLimit.session.stats().controlQueued === 10)
    await tick(50)
    expect(atLimit.session.state).toBe('open')
    // One more: the session ends rather than queue without bound.
    const over = await notReadingPeer(config)
    await over.sendRaw(batchOf(portOpens(12)))
    expect(await over.closed).toMatchObject({ reason: 'not-reading', message: expect.stringMatching(/10 control frames/) })
  })
})

describe('control queue, frames this side queues on its own', () => {
  it('a burst of OPENs from the application beyond maxQueuedControlFrames does not fail the session', async () => {
    const raw = peer({ maxQueuedControlFrames: 100 })
    await raw.handshake()
    await raw.barrier()
    const streams = Array.from({ length: 150 }, () => raw.session.openStream())
    expect(raw.session.stats().controlQueued).toBe(150)
    await raw.waitFor('the last OPEN', (frame) => frame.type === 'open' && frame.streamId === streams.at(-1)!.id)
    expect(raw.session.state).toBe('open')
  })
})

describe('refused streams carry their reason', () => {
  it.each([
    ['tooManyStreams', 'TOO_MANY_STREAMS'],
    ['closed', 'STREAM_RESET'],
    ['protocolError', 'STREAM_RESET'],
  ] as const)('a RESET with reason %s fails the local stream with %s, the reason as its cause', async (reason, code) => {
    const raw = peer()
    await raw.handshake()
    const stream = raw.session.openStream()
    const sent = stream.send(Uint8Array.of(1))
    const receiving = stream.receive()
    await raw.waitFor('the OPEN', (frame) => frame.type === 'open')
    await raw.send({ type: 'reset', streamId: stream.id, reason, message: 'no' })
    await expect(receiving).rejects.toMatchObject({ code, cause: reason })
    await sent.catch(() => {})
    await expect(stream.send(Uint8Array.of(2))).rejects.toMatchObject({ code, cause: reason })
  })
})

describe('many small chunks', () => {
  /** Empty (or 1-byte) DATA frames, as many as fit in one 16 KiB batch. */
  const dataFrames = (streamId: number, count: number, fin: boolean, payloadBytes = 0): Frame[] =>
    Array.from({ length: count }, () => ({ type: 'data', streamId, fin, payload: new Uint8Array(payloadBytes) }))

  it('empty messages (DATA+FIN) on a stream nobody reads are accepted up to the credit (the frame charge each); the next resets the stream', async () => {
    const raw = peer()
    await raw.handshake()
    await raw.send({ type: 'open', streamId: 2, purpose: 'request' })
    await raw.barrier()
    const before = memoryAfterGc()
    const accepted = (256 * 1024) / DATA_FRAME_CREDIT_BYTES
    for (let sent = 0; sent < accepted; sent += 1800) await raw.sendRaw(batchOf(dataFrames(2, Math.min(1800, accepted - sent), true)))
    expect(await raw.barrier()).toBe(true)
    expect(raw.frames.some((frame) => frame.type === 'reset')).toBe(false)
    // One run: its ends, not an object per message.
    expect(raw.session.stats().inboundBytes).toBeLessThanOrEqual(RUN_OVERHEAD_BYTES + 64 + 16 * accepted)
    // The flood goes on: the first message past the credit resets the stream, the rest find it gone.
    for (let i = 0; i < 100; i++) await raw.sendRaw(batchOf(dataFrames(2, 2000, true)))
    expect(await raw.barrier()).toBe(true)
    const growth = memoryAfterGc() - before
    report(`${accepted} + 200 000 empty messages, unread`, growth)
    expect(raw.frames.find((frame) => frame.type === 'reset')).toMatchObject({
      streamId: 2,
      reason: 'protocolError',
      message: expect.stringContaining('credit'),
    })
    expect(raw.session.stats()).toMatchObject({ streams: 0, inboundBytes: 0 })
    expect(growth).toBeLessThan(MEMORY_SLACK_BYTES)
    expect(raw.session.state).toBe('open')
  }, 15_000)

  it('1-byte chunks of one large item under assembly cost about their bytes, not an object each, even for the head of line', async () => {
    const raw = peer()
    await raw.handshake()
    const incoming = nextIncoming(raw.session)
    await raw.send({ type: 'open', streamId: 2, purpose: 'request' })
    const received = (await incoming).receive() // a reader waits: the item is assembled as it arrives
    await raw.barrier()
    const before = memoryAfterGc()
    const itemBytes = 512 * 1024
    const sent = await raw.sendWhileCredit(2, itemBytes - 1, { chunkBytes: 1, framesPerBatch: 1800, idleMs: 500 })
    expect(sent).toBe(itemBytes - 1) // the head of line gets its credit
    expect(await raw.barrier()).toBe(true)
    const growth = memoryAfterGc() - before
    report(`${sent} 1-byte chunks of one item under assembly`, growth)
    const { inboundBytes, assemblyBytes } = raw.session.stats()
    expect(assemblyBytes).toBeGreaterThanOrEqual(sent) // the budget sees at least the bytes
    // The assembly's buffer grows by a quarter at a time: at most 1.25 × the item, plus what is still unread.
    expect(inboundBytes).toBeLessThanOrEqual(1.25 * itemBytes + 256 * 1024 + RUN_OVERHEAD_BYTES + CHUNK_OVERHEAD_BYTES + 64)
    expect(growth).toBeLessThan(1.25 * itemBytes + MEMORY_SLACK_BYTES)
    await raw.send({ type: 'data', streamId: 2, fin: true, payload: Uint8Array.of(1) })
    expect((await received)?.byteLength).toBe(itemBytes)
  }, 15_000)

  it('an empty DATA frame without FIN resets its stream (protocolError); the session goes on', async () => {
    const raw = peer()
    await raw.handshake()
    const incoming = nextIncoming(raw.session)
    await raw.send({ type: 'open', streamId: 2, purpose: 'request' })
    const received = (await incoming).receive()
    received.catch(() => {})
    await raw.barrier()
    const before = memoryAfterGc()
    const batches = 50
    for (let i = 0; i < batches; i++) await raw.sendRaw(batchOf(dataFrames(2, 2000, false)))
    expect(await raw.barrier()).toBe(true)
    const growth = memoryAfterGc() - before
    report(`${batches * 2000} empty non-FIN chunks under assembly`, growth)
    expect(raw.frames.find((frame) => frame.type === 'reset')).toMatchObject({ streamId: 2, reason: 'protocolError' })
    await expect(received).rejects.toMatchObject({ code: 'STREAM_RESET' })
    expect(growth).toBeLessThan(MEMORY_SLACK_BYTES)
    expect(raw.session.state).toBe('open')
  })
})
