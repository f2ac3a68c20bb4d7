/**
 * One budget per peer, channels part (docs/architecture.md "Resource budgets"): items a peer sent
 * that wait in received channel buffers count in that peer's mux inbound budget. The attack is
 * performed first — many received receivers, all flooded, none read — then the test asserts the
 * backpressure (held ≤ budget + one item), that memory stays within it plus SLACK_BYTES (the test's
 * own objects, vitest and timers), that a receiver the application reads still progresses (head of
 * line), and that new OPENs are refused with TOO_MANY_STREAMS while the budget is full.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { encodeItem } from '../../src/channels/items.js'
import { CHUNK_OVERHEAD_BYTES } from '../../src/mux/stream.js'
import type * as mpsc from '../../src/channels/mpsc.js'
import type * as broadcast from '../../src/channels/broadcast.js'
import { connectionPair, flood, hostilePort, tick, until, usedBytes, type ConnectionPair } from './helpers.js'

const KiB = 1024
const MiB = 1024 * KiB
const SLACK_BYTES = 8 * MiB
const BUDGET_BYTES = 8 * MiB
const WINDOW_BYTES = 64 * KiB
const VALUE_BYTES = 32 * KiB
const CHANNELS = 64
/**
 * What a full window retains beyond the credit it reserved: each held chunk counts its overhead
 * (CHUNK_OVERHEAD_BYTES, a few chunks per window) and a view its whole link message — the mux's own
 * accounting, the same with or without channels.
 */
const WINDOW_OVERHEAD_BYTES = 8 * CHUNK_OVERHEAD_BYTES
/** The attack: 2 MiB per channel, 128 MiB in all, that the receiving side never reads. */
const ITEMS_PER_CHANNEL = 64

/** With MUX_ATTACK_REPORT=1, prints each attack's memory growth (for the table in the closing note). */
function report(attack: string, growthBytes: number): void {
  if (process.env.MUX_ATTACK_REPORT) console.log(`[attack] ${attack}: ${(growthBytes / MiB).toFixed(1)} MiB`)
}

/** Held for the peer at most: the budget, one item, and what each of its streams' windows retains beyond its credit. */
const bound = (itemBytes: number) => BUDGET_BYTES + itemBytes + CHANNELS * WINDOW_OVERHEAD_BYTES

const muxConfig = { maxInboundBytes: BUDGET_BYTES, initialWindowBytes: WINDOW_BYTES, maxWindowBytes: WINDOW_BYTES }

describe('per-peer budget: received channel buffers', () => {
  let pair: ConnectionPair
  afterEach(async () => pair?.dispose())
  /** Whether the receiving side's budget has no room for one more stream: what the flood waits for. */
  const budgetFull = () => !pair.b.session.inboundBudget.mayOpen(WINDOW_BYTES)

  it('64 flooded mpsc receivers nobody reads hold at most the budget; one read channel progresses; new OPENs get TOO_MANY_STREAMS', async () => {
    pair = await connectionPair('memory', { muxConfig })
    const ports = Array.from({ length: CHANNELS }, () => hostilePort(pair.a, { k: 'mpsc.rx', o: { c: 1024 } }))
    const receivers = await pair.transfer(ports.map(({ port }) => port) as unknown as mpsc.Receiver<Uint8Array>[])
    const item = encodeItem(pair.a, { ok: true, value: new Uint8Array(VALUE_BYTES).fill(1) })
    const before = await usedBytes()

    // The flood ends once the budget is full (a new stream's window no longer fits), not after a
    // quiet spell alone: on a loaded machine nothing may arrive for a while, and a late OPEN sent
    // before the budget filled is rightly admitted — the test would then wait for its refusal forever.
    const sent = await Promise.all(ports.map(({ stream }) => flood(stream, item, ITEMS_PER_CHANNEL, 150, budgetFull)))
    const stats = pair.b.session.stats()
    const growth = (await usedBytes()) - before
    report('64 flooded received mpsc receivers, none read', growth)
    const accepted = sent.reduce((sum, n) => sum + n, 0) * item.byteLength
    expect(accepted).toBeLessThan(CHANNELS * ITEMS_PER_CHANNEL * item.byteLength) // backpressure: not all went
    expect(stats.channelBytes + stats.inboundBytes + stats.grantedBytes).toBeLessThanOrEqual(bound(item.byteLength))
    expect(stats.channelBytes).toBeGreaterThan(0)
    expect(growth).toBeLessThan(BUDGET_BYTES + item.byteLength + SLACK_BYTES)

    // A new stream does not fit while the budget is full.
    const late = pair.a.session.openStream('request')
    await expect(late.receive()).rejects.toMatchObject({ code: 'TOO_MANY_STREAMS' })

    // Head of line: the application reads one channel, which gets every item its sender has.
    const first = receivers[0]!
    for (let i = 0; i < ITEMS_PER_CHANNEL; i++) expect((await first.recv())?.byteLength).toBe(VALUE_BYTES)
    await tick(50)
    const after = pair.b.session.stats()
    expect(after.channelBytes + after.inboundBytes + after.grantedBytes).toBeLessThanOrEqual(bound(item.byteLength))
  }, 20_000)

  it('disposing the flooded receivers gives their bytes back to the budget (close() keeps them receivable)', async () => {
    pair = await connectionPair('memory', { muxConfig })
    const ports = Array.from({ length: 8 }, () => hostilePort(pair.a, { k: 'mpsc.rx', o: { c: 1024 } }))
    const receivers = await pair.transfer(ports.map(({ port }) => port) as unknown as mpsc.Receiver<Uint8Array>[])
    const item = encodeItem(pair.a, { ok: true, value: new Uint8Array(VALUE_BYTES) })
    await Promise.all(ports.map(({ stream }) => flood(stream, item, 16)))
    await until('items in the received channels', () => pair.b.session.stats().channelBytes > 0)
    const held = pair.b.session.stats().channelBytes
    expect(held).toBeGreaterThan(0)
    for (const rx of receivers) rx.close()
    await tick(50)
    expect(pair.b.session.stats().channelBytes).toBe(held) // still receivable, so still counted
    for (const rx of receivers) rx[Symbol.dispose]()
    await tick(50)
    expect(pair.b.session.stats().channelBytes).toBe(0)
  })

  it('the session ending while pumps wait for room: every receiver gets what was held, then learns of the disconnect', async () => {
    pair = await connectionPair('memory', { muxConfig })
    const ports = Array.from({ length: CHANNELS }, () => hostilePort(pair.a, { k: 'mpsc.rx', o: { c: 1024 } }))
    const receivers = await pair.transfer(ports.map(({ port }) => port) as unknown as mpsc.Receiver<Uint8Array>[])
    const item = encodeItem(pair.a, { ok: true, value: new Uint8Array(VALUE_BYTES) })
    await Promise.all(ports.map(({ stream }) => flood(stream, item, ITEMS_PER_CHANNEL)))
    pair.pair.sever()
    const endings = await Promise.all(
      receivers.map(async (rx) => {
        for (;;) {
          try {
            if ((await rx.recv()) === undefined) return 'ended'
          } catch (error) {
            return (error as { code?: string }).code
          }
        }
      }),
    )
    expect(new Set(endings)).toEqual(new Set(['CHANNEL_CLOSED']))
  }, 20_000)

  it('flooded broadcast receivers count too, and lag rather than hold more than the budget', async () => {
    pair = await connectionPair('memory', { muxConfig })
    const ports = Array.from({ length: CHANNELS }, () => hostilePort(pair.a, { k: 'broadcast.rx', o: { c: 1024 } }))
    const receivers = await pair.transfer(ports.map(({ port }) => port) as unknown as broadcast.Receiver<Uint8Array>[])
    const item = encodeItem(pair.a, { ok: true, value: new Uint8Array(VALUE_BYTES) })
    const before = await usedBytes()
    await Promise.all(ports.map(({ stream }) => flood(stream, item, ITEMS_PER_CHANNEL)))
    await until('items in the received channels', () => pair.b.session.stats().channelBytes > 0)
    const stats = pair.b.session.stats()
    const growth = (await usedBytes()) - before
    report('64 flooded received broadcast receivers, none read', growth)
    expect(stats.channelBytes).toBeGreaterThan(0)
    expect(stats.channelBytes + stats.inboundBytes + stats.grantedBytes).toBeLessThanOrEqual(bound(item.byteLength))
    expect(growth).toBeLessThan(BUDGET_BYTES + item.byteLength + SLACK_BYTES)
    for (const rx of receivers) rx.close()
    await tick(50)
    expect(pair.b.session.stats().channelBytes).toBe(0)
  }, 20_000)
})
