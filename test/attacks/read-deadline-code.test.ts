/**
 * A request reset by the serving side's read deadline (it waited too long for room in the peer's
 * budget) reached the caller as PEER_GONE ("went away before replying") although the peer was there,
 * merely busy. A stream the peer reset while its session goes on is STREAM_RESET now
 * (src/rpc/delivery-errors.ts).
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as mpsc from '../../src/channels/mpsc.js'
import { resolveServeLimits } from '../../src/rpc/serve-limits.js'
import { ID_B, messagingPair, type MessagingPair } from '../rpc/helpers.js'

const MiB = 1024 * 1024

describe('a request reset by the read deadline', () => {
  let peers: MessagingPair
  afterEach(() => peers?.dispose())

  it('reaches the caller as STREAM_RESET, not PEER_GONE', async () => {
    peers = await messagingPair({ config: { maxInboundBytes: 4 * MiB }, callTimeoutMs: 5_000 })
    ;(peers.b as unknown as { host: { serveLimits: unknown } }).host.serveLimits = resolveServeLimits({ requestReadTimeoutMs: 300 })
    peers.b.register('hold', () => new Promise(() => {})) // in service for good: its request fills the budget
    peers.b.register('echo', (v: unknown) => v)
    const kept: unknown[] = []
    peers.b.register('subscribe', (rx: unknown) => void kept.push(rx))
    // 4 idle received receivers (finding 1: each reserves 2 windows), and one request in service of 2 MiB.
    for (let i = 0; i < 4; i++) await peers.a.send(ID_B, 'subscribe', mpsc.channel<number>()[1])
    void peers.a.call(ID_B, 'hold', new Uint8Array(2 * MiB)).catch(() => {})
    await new Promise((r) => setTimeout(r, 100))
    expect(peers.pair.b.stats().servingBytes).toBeGreaterThan(1.9 * MiB)
    const error = await peers.a.call(ID_B, 'echo', 1).then(
      () => undefined,
      (e: { code: string; message: string }) => e,
    )
    expect(peers.pair.a.state).toBe('open') // the peer never went away
    expect(error?.code).not.toBe('PEER_GONE')
  })
})
