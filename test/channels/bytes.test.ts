import { afterEach, describe, expect, it } from 'vitest'
import * as bytes from '../../src/channels/bytes.js'
import { binaryItemParts, encodeItem } from '../../src/channels/items.js'
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

  it('a bytes item sent as [header, bytes] parts is byte for byte the codec\'s encoding of [0, bytes]', async () => {
    pair = await connectionPair('memory')
    for (const size of [0, 1, 255, 256, 65_535, 65_536, 70_000]) {
      const value = new Uint8Array(size).map((_, i) => i * 7)
      const parts = binaryItemParts(value)
      const joined = new Uint8Array(parts[0].byteLength + parts[1].byteLength)
      joined.set(parts[0])
      joined.set(parts[1], parts[0].byteLength)
      expect(Buffer.from(joined).equals(Buffer.from(encodeItem(pair.a, { ok: true, value })))).toBe(true)
    }
  })

  it('to a remote receiver, a write reads its bytes as they go out: what arrives is what the buffer held until write resolved', async () => {
    pair = await connectionPair('memory')
    const [tx, rx] = bytes.channel({ chunkBytes: 1000 })
    const remoteTx = await pair.transfer(tx)
    const buffer = new Uint8Array(2500)
    const reading = (async () => {
      const chunks: number[][] = []
      for await (const chunk of rx) chunks.push([chunk.byteLength, chunk[0]!, chunk.at(-1)!])
      return chunks
    })()
    for (const fill of [1, 2, 3]) {
      buffer.fill(fill)
      await remoteTx.write(buffer) // reused once the write resolved
    }
    remoteTx.close()
    expect(await reading).toEqual([1, 2, 3].flatMap((fill) => [[1000, fill, fill], [1000, fill, fill], [500, fill, fill]]))
    expect(remoteTx.bytesSent).toBe(7500)
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
