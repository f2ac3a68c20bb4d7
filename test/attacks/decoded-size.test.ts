/**
 * Attack: values that are small on the wire and large in memory. Channel buffers counted an item's
 * encoded bytes, but 1 000 000 empty objects (within maxElements) encode in ~1 MB and decode to
 * ~60 MB of heap, so 16 MiB of buffer held hundreds of MB. Now an item counts its decoded entries
 * too (Codec.lastDecodedOverheadBytes, 64 B each): buffering stops at the peer's budget, counted as
 * the memory it is.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as mpsc from '../../src/channels/mpsc.js'
import { connectionPair, usedBytes, type ConnectionPair } from '../channels/helpers.js'

const MiB = 1024 * 1024

describe('attack: decoded size of buffered channel items', () => {
  let pair: ConnectionPair
  afterEach(() => pair?.dispose())

  it('16 items of 1M empty objects: buffering stops at the budget, and what is counted covers the heap it takes', async () => {
    pair = await connectionPair('memory')
    const [tx, rx] = mpsc.channel<unknown>(1024)
    const remoteRx = await pair.transfer(rx) // b holds the receiver, a the sender
    const item = Array.from({ length: 999_990 }, () => ({}))
    const before = await usedBytes()
    for (let i = 0; i < 16; i++) await tx.send(item)
    await new Promise((r) => setTimeout(r, 3000))
    const stats = pair.b.session.stats()
    const growth = (await usedBytes()) - before
    // Each item counts about what it costs (1 MB + 1M entries × 64 B = 65 MB). One is let into the
    // empty buffer; the pump reads one more while the 64 MiB budget still has room for a window, and
    // then no more (the budget's bound: its limit plus one item). Memory stays near what is counted.
    const item65 = 1_000_000 + 999_990 * 64
    expect(stats.channelBytes).toBeGreaterThanOrEqual(item65)
    expect(stats.channelBytes).toBeLessThanOrEqual(64 * MiB + item65)
    expect(growth).toBeLessThan(stats.channelBytes * 1.5 + 8 * MiB)
    void remoteRx
  }, 60_000)
})
