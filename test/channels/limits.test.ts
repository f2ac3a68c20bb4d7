/**
 * A peer that sends a channel half chooses nothing about the receiving side's memory: every test
 * here first performs the attack (a hostile port payload, then a flood of items on its stream) and
 * asserts that the receiving side's ChannelLimits bound what it keeps.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as broadcast from '../../src/channels/broadcast.js'
import type * as bytes from '../../src/channels/bytes.js'
import { LaggedError } from '../../src/channels/errors.js'
import { encodeItem } from '../../src/channels/items.js'
import { DEFAULT_CHANNEL_LIMITS, resolveChannelLimits } from '../../src/channels/limits.js'
import * as mpsc from '../../src/channels/mpsc.js'
import { MpscCore } from '../../src/channels/mpsc-core.js'
import type * as oneshot from '../../src/channels/oneshot.js'
import type * as watch from '../../src/channels/watch.js'
import { connectionPair, flood, hostilePort, tick, usedBytes, until, type ConnectionPair } from './helpers.js'

const KiB = 1024
const MiB = 1024 * KiB
/** What else moves in the heap of a test process between two measurements (vitest, timers, code). */
const SLACK_BYTES = 2 * MiB
const ITEM_BYTES = 64 * KiB
/** The attack: 16 MiB of items the receiver never reads. */
const FLOOD_ITEMS = 256

describe('channel limits: a received half is bounded by the receiving side', () => {
  let pair: ConnectionPair
  afterEach(async () => pair?.dispose())

  const budget = { maxReceivedBufferBytes: 1 * MiB }
  /** Bytes the window lets through past the budget (the multiplexer's, unchanged here). */
  const WINDOW_BYTES = 256 * KiB

  it('mpsc.rx asking for 2^20 items: the receiving side keeps at most its byte budget, the rest waits on credit', async () => {
    pair = await connectionPair('memory', { channelLimits: { b: budget } })
    const { port, stream } = hostilePort(pair.a, { k: 'mpsc.rx', o: { c: 1 << 20 } })
    const rx = await pair.transfer(port as unknown as mpsc.Receiver<Uint8Array>)
    const item = encodeItem(pair.a, { ok: true, value: new Uint8Array(ITEM_BYTES) })
    const before = await usedBytes()
    const taken = await flood(stream, item, FLOOD_ITEMS)
    const growth = (await usedBytes()) - before
    expect(taken).toBeLessThan(FLOOD_ITEMS)
    expect(growth).toBeLessThanOrEqual(budget.maxReceivedBufferBytes + WINDOW_BYTES + ITEM_BYTES + SLACK_BYTES)
    // Nothing accepted is lost: reading drains the buffer and credit lets the rest through.
    for (let i = 0; i < FLOOD_ITEMS; i++) expect((await rx.recv())?.byteLength).toBe(ITEM_BYTES)
  })

  it('capacity: a requested capacity at the limit is kept, one over it is clamped to the limit', async () => {
    pair = await connectionPair('memory', { channelLimits: { b: { maxReceivedCapacity: 4 } } })
    for (const [asked, kept] of [
      [4, 4],
      [5, 4],
      [1 << 20, 4],
    ]) {
      const [, rx] = mpsc.channel<number>(asked)
      expect((await pair.transfer(rx)).capacity).toBe(kept)
      const [btx] = broadcast.channel<number>(asked)
      const remoteTx = await pair.transfer(btx)
      expect(remoteTx.subscribe().capacity).toBe(kept)
      const [, brx] = broadcast.channel<number>(asked)
      expect((await pair.transfer(brx)).capacity).toBe(kept)
    }
  })

  it('item size: a received half accepts an item exactly at maxReceivedItemBytes and fails one byte over it', async () => {
    // [0, bin 1000] encodes to 1 + 1 + 3 + 1000 bytes.
    pair = await connectionPair('memory', { channelLimits: { b: { maxReceivedItemBytes: 1005 } } })
    const [tx, rx] = mpsc.channel<Uint8Array>({ capacity: 4, maxItemBytes: 1 * MiB })
    const remoteRx = await pair.transfer(rx)
    await tx.send(new Uint8Array(1000))
    await tx.send(new Uint8Array(1001))
    expect((await remoteRx.recv())?.byteLength).toBe(1000)
    await expect(remoteRx.recv()).rejects.toMatchObject({ code: 'ITEM_TOO_LARGE' })
  })

  it('oneshot.rx asking for 2^20 items holds one: the rest waits on credit', async () => {
    // A 1 KiB window makes what the link holds small next to what a buffer of 2^20 would take.
    pair = await connectionPair('memory', { muxConfig: { initialWindowBytes: 1 * KiB } })
    const { port, stream } = hostilePort(pair.a, { k: 'oneshot.rx', o: { c: 1 << 20 } })
    const rx = await pair.transfer(port as unknown as oneshot.Receiver<Uint8Array>)
    const taken = await flood(stream, encodeItem(pair.a, { ok: true, value: new Uint8Array(100) }), 1000, 100)
    expect(taken).toBeLessThan(20)
    expect((await rx.recv()).byteLength).toBe(100)
  })

  it('bytes.rx asking for 2^20 chunks of 16 MiB: the byte budget bounds it', async () => {
    pair = await connectionPair('memory', { channelLimits: { b: budget } })
    const { port, stream } = hostilePort(pair.a, { k: 'bytes.rx', o: { c: 1 << 20, m: 16 * MiB } })
    const rx = await pair.transfer(port as unknown as bytes.ByteReceiver)
    const item = encodeItem(pair.a, { ok: true, value: new Uint8Array(ITEM_BYTES) })
    const before = await usedBytes()
    const taken = await flood(stream, item, FLOOD_ITEMS)
    const growth = (await usedBytes()) - before
    expect(taken).toBeLessThan(FLOOD_ITEMS)
    expect(growth).toBeLessThanOrEqual(budget.maxReceivedBufferBytes + WINDOW_BYTES + ITEM_BYTES + SLACK_BYTES)
    let received = 0
    while (received < FLOOD_ITEMS * ITEM_BYTES) received += (await rx.read())!.byteLength
  })

  it('a local receiver whose sender went to a peer: the peer fills it up to the byte budget, not capacity × 16 MiB', async () => {
    pair = await connectionPair('memory', { channelLimits: { a: budget } })
    const [tx, rx] = mpsc.channel<Uint8Array>(1024)
    const remoteTx = await pair.transfer(tx)
    const before = await usedBytes()
    let sent = 0
    const value = new Uint8Array(ITEM_BYTES)
    for (let i = 0; i < FLOOD_ITEMS; i++)
      remoteTx.send(value).then(
        () => sent++,
        () => {},
      )
    for (let last = -1; sent !== last; ) {
      last = sent
      await tick(150)
    }
    const growth = (await usedBytes()) - before
    expect(sent).toBeLessThan(FLOOD_ITEMS)
    // The sending peer's own queue (an encoding per send waiting for credit) is in this process too: not this side's cost.
    const queuedOnSender = (FLOOD_ITEMS - sent) * ITEM_BYTES
    expect(growth - queuedOnSender).toBeLessThanOrEqual(budget.maxReceivedBufferBytes + WINDOW_BYTES + ITEM_BYTES + SLACK_BYTES)
    for (let i = 0; i < FLOOD_ITEMS; i++) await rx.recv()
  })

  it('broadcast.rx asking for 2^20 values: a reader that stops costs at most the byte budget, then lags once and goes on', async () => {
    pair = await connectionPair('memory', { channelLimits: { b: budget } })
    const { port, stream } = hostilePort(pair.a, { k: 'broadcast.rx', o: { c: 1 << 20 } })
    const rx = await pair.transfer(port as unknown as broadcast.Receiver<Uint8Array>)
    const before = await usedBytes()
    const item = encodeItem(pair.a, { ok: true, value: new Uint8Array(ITEM_BYTES) })
    expect(await flood(stream, item, FLOOD_ITEMS)).toBe(FLOOD_ITEMS) // broadcast never holds a sender back
    const growth = (await usedBytes()) - before
    expect(growth).toBeLessThanOrEqual(budget.maxReceivedBufferBytes + ITEM_BYTES + SLACK_BYTES)
    const lag = await rx.recv().catch((error: unknown) => error)
    expect(lag).toBeInstanceOf(LaggedError)
    const kept = FLOOD_ITEMS - (lag as LaggedError).skipped
    expect(kept).toBeGreaterThan(0)
    expect(kept * ITEM_BYTES).toBeLessThanOrEqual(budget.maxReceivedBufferBytes)
    for (let i = 0; i < kept; i++) expect((await rx.recv())?.byteLength).toBe(ITEM_BYTES)
  })

  it('broadcast: 10^5 values through a large ring cost O(1) each, and a stopped reader keeps only capacity values', async () => {
    const timeFor = (capacity: number) => {
      const [tx, rx] = broadcast.channel<number>(capacity)
      const started = performance.now()
      for (let i = 0; i < 100_000; i++) tx.send(i)
      const elapsed = performance.now() - started
      tx.close()
      return { elapsed, rx }
    }
    const small = timeFor(16)
    const large = timeFor(1 << 16)
    // A shift per value on a 65 536-entry array made the large ring hundreds of times slower.
    expect(large.elapsed).toBeLessThan(Math.max(50, small.elapsed * 10))
    await expect(large.rx.recv()).rejects.toMatchObject({ code: 'CHANNEL_LAGGED', skipped: 100_000 - (1 << 16) })
    expect(await large.rx.recv()).toBe(100_000 - (1 << 16))
  })

  it('watch.rx: a flood of values keeps only the latest', async () => {
    pair = await connectionPair('memory', { channelLimits: { b: budget } })
    const { port, stream } = hostilePort(pair.a, { k: 'watch.rx', v: null })
    const rx = await pair.transfer(port as unknown as watch.Receiver<Uint8Array | null>)
    const before = await usedBytes()
    const item = encodeItem(pair.a, { ok: true, value: new Uint8Array(ITEM_BYTES) })
    expect(await flood(stream, item, FLOOD_ITEMS)).toBe(FLOOD_ITEMS)
    await until('the flood to arrive', () => rx.borrow() !== null)
    expect((await usedBytes()) - before).toBeLessThanOrEqual(ITEM_BYTES + SLACK_BYTES)
  })

  it('limits are validated once: an item limit over the buffer budget is refused', () => {
    expect(resolveChannelLimits()).toEqual(DEFAULT_CHANNEL_LIMITS)
    expect(() => resolveChannelLimits({ maxReceivedCapacity: 0 })).toThrow(/maxReceivedCapacity/)
    expect(() => resolveChannelLimits({ maxReceivedItemBytes: 2 * MiB, maxReceivedBufferBytes: 1 * MiB })).toThrow(/maxReceivedItemBytes/)
  })

  it('mpsc byte budget: items from a peer are taken exactly up to it, one byte over waits; an empty buffer takes any item', async () => {
    const core = new MpscCore<number>(16)
    core.maxBufferedBytes = 100
    await core.push({ ok: true, value: 1 }, 60)
    await core.push({ ok: true, value: 2 }, 40)
    expect(core.bufferedBytes).toBe(100)
    let overTaken = false
    void core.push({ ok: true, value: 3 }, 1).then(() => (overTaken = true))
    await tick()
    expect(overTaken).toBe(false)
    await core.pull()
    await tick()
    expect(overTaken).toBe(true)
    expect(core.bufferedBytes).toBe(41)
    await core.pull()
    await core.pull()
    await core.push({ ok: true, value: 4 }, 500) // larger than the budget, into an empty buffer
    expect(core.bufferedBytes).toBe(500)
    await core.push({ ok: true, value: 5 }) // values sent in this process count nothing
  })

  it('broadcast byte budget: values from a peer are kept exactly up to it; one byte over drops the oldest', async () => {
    // [0, bin 1000] encodes to 1005 bytes: the budget holds exactly two.
    pair = await connectionPair('memory', { channelLimits: { b: { maxReceivedBufferBytes: 2010 } } })
    const { port, stream } = hostilePort(pair.a, { k: 'broadcast.rx', o: { c: 64 } })
    const rx = await pair.transfer(port as unknown as broadcast.Receiver<Uint8Array>)
    const value = (length: number) => encodeItem(pair.a, { ok: true, value: new Uint8Array(length) })
    await stream.send(value(1000))
    await stream.send(value(1000))
    await tick(20)
    expect((await rx.recv())?.byteLength).toBe(1000)
    expect((await rx.recv())?.byteLength).toBe(1000)
    await stream.send(value(1000))
    await stream.send(value(1000))
    await stream.send(value(1001)) // 2011 bytes with the one before: the oldest two go
    await tick(20)
    await expect(rx.recv()).rejects.toMatchObject({ code: 'CHANNEL_LAGGED', skipped: 2 })
    expect((await rx.recv())?.byteLength).toBe(1001)
  })

  it('broadcast ring: wrapping and growing keep every receiver in order, each lag counted once', async () => {
    const [tx, slow] = broadcast.channel<number>(5)
    const fast = tx.subscribe()
    const values: number[] = []
    let skipped = 0
    /** One read of the slow receiver: false at the end. */
    const readSlow = async () => {
      try {
        const value = await slow.recv()
        if (value === undefined) return false
        values.push(value)
      } catch (error) {
        skipped += (error as LaggedError).skipped
      }
      return true
    }
    for (let i = 0; i < 200; i++) {
      tx.send(i)
      expect(await fast.recv()).toBe(i)
      // The slow reader reads three values every seventh: it falls behind and lags.
      if (i % 7 === 6) for (let r = 0; r < 3; r++) await readSlow()
    }
    tx.close()
    while (await readSlow()) {}
    expect(values).toEqual([...values].sort((x, y) => x - y))
    expect(skipped).toBeGreaterThan(0)
    expect(values.length + skipped).toBe(200)
    expect(values.at(-1)).toBe(199)
  })
})
