import { describe, expect, it } from 'vitest'
import { createMemoryLinkPair } from '../../src/transport/memory-link.js'
import { linkCompliance } from './link-compliance.js'

linkCompliance('memory pair', async () => {
  const { a, b } = createMemoryLinkPair()
  return {
    a,
    b,
    dispose: async () => {
      a.close()
      b.close()
    },
  }
})

describe('memory pair', () => {
  it('sever fails both ends and rejects pending sends', async () => {
    const { a, b, sever } = createMemoryLinkPair({ highWaterMarkBytes: 1024 })
    const reasons: string[] = []
    a.events.on('close', (info) => reasons.push(`a:${info.reason}`))
    b.events.on('close', (info) => reasons.push(`b:${info.reason}`))
    const pending = [a.send(new Uint8Array(2048), 'bulk'), a.send(new Uint8Array(10), 'bulk')]
    sever()
    await expect(pending[1]).rejects.toMatchObject({ code: 'LINK_CLOSED' })
    expect(reasons).toEqual(['a:failed', 'b:failed'])
  })

  it('abort while close flushes rejects what is still queued; the peer sees remote-closed', async () => {
    const { a, b } = createMemoryLinkPair({ highWaterMarkBytes: 1024 })
    const reasons: string[] = []
    a.events.on('close', (info) => reasons.push(`a:${info.reason}`))
    b.events.on('close', (info) => reasons.push(`b:${info.reason}`))
    const pending = [a.send(new Uint8Array(2048), 'bulk'), a.send(new Uint8Array(10), 'bulk')]
    a.close('leaving')
    a.abort('now')
    await expect(pending[1]).rejects.toMatchObject({ code: 'LINK_CLOSED' })
    expect(reasons).toEqual(['b:remote-closed', 'a:closed'])
  })

  it('a send waits while the high-water mark is exceeded', async () => {
    const { a, b } = createMemoryLinkPair({ highWaterMarkBytes: 100 })
    let settled = false
    await a.send(new Uint8Array(100), 'bulk')
    const second = a.send(new Uint8Array(10), 'bulk').then(() => (settled = true))
    expect(settled).toBe(false)
    expect(a.bufferedBytes).toBe(110)
    await second
    expect(settled).toBe(true)
    a.close()
    b.close()
  })

  it('each lane keeps its order and its own mark; the latency lane overtakes a full, slow bulk lane', async () => {
    const { a, b } = createMemoryLinkPair({ highWaterMarkBytes: 100, latencyHighWaterMarkBytes: 100, bulkLaneDelayMs: 30 })
    const arrived: string[] = []
    b.events.on('message', (data, lane) => arrived.push(`${lane}:${data[0]}`))
    await a.send(Uint8Array.of(1, ...new Array(99).fill(0)), 'bulk')
    const queuedBulk = a.send(Uint8Array.of(2), 'bulk') // waits for the bulk mark
    await a.send(Uint8Array.of(3), 'latency') // does not
    await a.send(Uint8Array.of(4))
    await queuedBulk
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(arrived).toEqual(['latency:3', 'latency:4', 'bulk:1', 'bulk:2'])
    a.close()
    b.close()
  })
})
