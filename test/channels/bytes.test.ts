import { afterEach, describe, expect, it } from 'vitest'
import * as bytes from '../../src/channels/bytes.js'
import * as mpsc from '../../src/channels/mpsc.js'
import { connectionPair, type ConnectionPair } from './helpers.js'

describe('bytes channels', () => {
  let pair: ConnectionPair
  afterEach(async () => pair?.dispose())

  it('in one process, chunks are plain Uint8Array copies of what was written, cut at chunkBytes, also from a Buffer', async () => {
    const [tx, rx] = bytes.channel({ chunkBytes: 4 })
    const written = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    await tx.write(written)
    written.fill(0) // the writer may reuse its buffer once write resolved
    tx.close()
    const chunks: Uint8Array[] = []
    for await (const chunk of rx) chunks.push(chunk)
    expect(chunks.map((chunk) => [...chunk])).toEqual([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]])
    for (const chunk of chunks) expect(chunk.constructor).toBe(Uint8Array)
  })

  for (const kind of ['memory', 'wrtc'] as const) {
    it(`${kind}: 8 MB through Web Streams with progress, while small messages flow on another channel`, async () => {
      pair = await connectionPair(kind)
      const [tx, rx] = bytes.channel()
      const remoteTx = await pair.transfer(tx)
      const [chatTx, chatRx] = mpsc.channel<number>()
      const remoteChatTx = await pair.transfer(chatTx)
      const total = 8 * 1024 * 1024
      const progress: number[] = []
      rx.onProgress((count) => progress.push(count))

      const writing = (async () => {
        const writer = remoteTx.writable.getWriter()
        for (let offset = 0; offset < total; offset += 100_000) {
          const chunk = new Uint8Array(Math.min(100_000, total - offset))
          for (let i = 0; i < chunk.length; i++) chunk[i] = (offset + i) & 0xff
          await writer.write(chunk)
        }
        await writer.close()
      })()
      const chatting = (async () => {
        for (let i = 0; i < 200; i++) await remoteChatTx.send(i)
        remoteChatTx.close()
      })()
      const chatReceived: number[] = []
      const chatReading = (async () => {
        for await (const value of chatRx) chatReceived.push(value)
      })()

      let position = 0
      let intact = true
      const reader = rx.readable.getReader()
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        for (let i = 0; i < value.length; i++) if (value[i] !== ((position + i) & 0xff)) intact = false
        position += value.length
      }
      await Promise.all([writing, chatting, chatReading])
      expect(position).toBe(total)
      expect(intact).toBe(true)
      expect(progress.at(-1)).toBe(total)
      expect(remoteTx.bytesSent).toBe(total)
      expect(chatReceived).toEqual(Array.from({ length: 200 }, (_, i) => i))
    })
  }
})
