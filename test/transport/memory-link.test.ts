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
    const pending = [a.send(new Uint8Array(2048)), a.send(new Uint8Array(10))]
    sever()
    await expect(pending[1]).rejects.toMatchObject({ code: 'LINK_CLOSED' })
    expect(reasons).toEqual(['a:failed', 'b:failed'])
  })

  it('a send waits while the high-water mark is exceeded', async () => {
    const { a, b } = createMemoryLinkPair({ highWaterMarkBytes: 100 })
    let settled = false
    await a.send(new Uint8Array(100))
    const second = a.send(new Uint8Array(10)).then(() => (settled = true))
    expect(settled).toBe(false)
    expect(a.bufferedBytes).toBe(110)
    await second
    expect(settled).toBe(true)
    a.close()
    b.close()
  })
})
