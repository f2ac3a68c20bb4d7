/**
 * Requests in flight to one peer are limited on the calling side (src/rpc/request-slots.ts): a burst
 * past `maxRequestsInFlight` waits for slots instead of being refused by the peer's stream limit,
 * and a waiting request's timeout and signal still work.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { ID_B, delay, disposeChecked, messagingPair, until, type MessagingPair, held } from './helpers.js'
import { requestSlotsOf } from '../../src/rpc/call.js'
import { RequestSlots } from '../../src/rpc/request-slots.js'
import { DEFAULT_MUX_CONFIG } from '../../src/mux/config.js'

describe('requests in flight to one peer', () => {
  let peers: MessagingPair
  afterEach(() => disposeChecked(peers))

  it('the default (256) is what a peer with the default budget admits at once', () => {
    expect(new RequestSlots(256).limit).toBe(DEFAULT_MUX_CONFIG.maxInboundBytes / DEFAULT_MUX_CONFIG.initialWindowBytes)
  })

  it('1 100 calls to a handler that holds them: 255 reach the peer at a time, all 1 100 succeed, none refused', async () => {
    peers = await messagingPair()
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    let running = 0
    let mostRunning = 0
    peers.b.register<number, number>('held', async (n) => {
      mostRunning = Math.max(mostRunning, ++running)
      await released
      running--
      return n
    })
    const calls = Array.from({ length: 1_100 }, (_, i) => peers.a.call(ID_B, 'held', i))
    await until('the first 255 are served', () => running === 255)
    expect(requestSlotsOf(peers.connections.a)).toEqual({ inFlight: 255, waiting: 845 })
    // A send behind them waits its turn too, rather than being refused.
    const seen: number[] = []
    peers.b.register<number>('other', (n) => void seen.push(n))
    const sent = peers.a.send(ID_B, 'other', 1)
    await delay(20)
    expect(seen).toEqual([])
    release()
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 1_100 }, (_, i) => i))
    await sent
    expect(seen).toEqual([1])
    expect(mostRunning).toBe(255)
    expect(held(peers.connections.b)).toBeLessThanOrEqual(255)
    expect(requestSlotsOf(peers.connections.a)).toEqual({ inFlight: 0, waiting: 0 })
  })

  it('at the limit exactly, a request goes; one past it waits', async () => {
    peers = await messagingPair({ maxRequestsInFlight: 3 })
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    peers.b.register('held', () => released)
    const calls = Array.from({ length: 4 }, () => peers.a.call(ID_B, 'held', 0))
    await until('three reach the peer', () => held(peers.connections.b) === 3)
    await delay(20)
    expect(held(peers.connections.b)).toBe(3)
    expect(requestSlotsOf(peers.connections.a)).toEqual({ inFlight: 3, waiting: 1 })
    release()
    await Promise.all(calls)
  })

  it('a request waiting for a slot times out (TIMEOUT) and gives up its place; no stream was opened for it', async () => {
    peers = await messagingPair({ maxRequestsInFlight: 1 })
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    peers.b.register('held', () => released)
    const first = peers.a.call(ID_B, 'held', 0, { timeout: 5_000 })
    const waiting = peers.a.call(ID_B, 'held', 0, { timeout: 50 })
    await expect(waiting).rejects.toMatchObject({ code: 'TIMEOUT' })
    expect(held(peers.connections.a)).toBe(1)
    expect(requestSlotsOf(peers.connections.a)).toEqual({ inFlight: 1, waiting: 0 })
    release()
    await first
    // The slot is free again.
    await peers.a.call(ID_B, 'held', 0)
  })

  it('a request that got its slot late has only what is left of its timeout (the wait counts), and says the whole one', async () => {
    peers = await messagingPair({ maxRequestsInFlight: 1 })
    peers.b.register('slow', () => delay(300))
    peers.b.register('silent', () => new Promise(() => {}))
    const first = peers.a.call(ID_B, 'slow', 0)
    const started = Date.now()
    const second = peers.a.call(ID_B, 'silent', 0, { timeout: 400 })
    await first
    const error = await second.catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'TIMEOUT' })
    expect((error as Error).message).toContain('within 400 ms')
    // It waited ~300 ms for the slot, then the rest: not a fresh 400 ms after the slot (≥ 700).
    expect(Date.now() - started).toBeLessThan(650)
    expect(requestSlotsOf(peers.connections.a)).toEqual({ inFlight: 0, waiting: 0 })
  })

  it('a request waiting for a slot is aborted by its signal (ABORTED)', async () => {
    peers = await messagingPair({ maxRequestsInFlight: 1 })
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    peers.b.register('held', () => released)
    const first = peers.a.call(ID_B, 'held', 0)
    const controller = new AbortController()
    const waiting = peers.a.call(ID_B, 'held', 0, { signal: controller.signal })
    await delay(10)
    controller.abort()
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' })
    release()
    await first
  })

  it('waiting requests get their slots in the order they asked', async () => {
    peers = await messagingPair({ maxRequestsInFlight: 1 })
    const order: number[] = []
    peers.b.register<number>('record', (n) => void order.push(n))
    await Promise.all(Array.from({ length: 50 }, (_, i) => peers.a.send(ID_B, 'record', i)))
    expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i))
  })

  it('a peer that goes away: the requests waiting for a slot fail too, none hangs', async () => {
    peers = await messagingPair({ maxRequestsInFlight: 2, callTimeoutMs: 60_000 })
    peers.b.register('never', () => new Promise(() => {}))
    const calls = Array.from({ length: 6 }, () => peers.a.call(ID_B, 'never', 0).catch((error: { code: string }) => error.code))
    await until('two reach the peer', () => held(peers.connections.b) === 2)
    peers.connections.a.session.abort('peer left')
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 6 }, () => 'PEER_GONE'))
  })
})
