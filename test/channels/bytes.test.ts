import { afterEach, describe, expect, it } from 'vitest'
import * as bytes from '../../src/channels/bytes.js'
import { binaryItemParts, binaryItemPieces, encodeItem } from '../../src/channels/items.js'
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
    expect(chunks.map((chunk) => [...chunk])).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [9, 10],
    ])
    for (const chunk of chunks) expect(chunk.constructor).toBe(Uint8Array)
  })

  it('crossing to another peer, a bytes channel travels on the bulk lane and an mpsc channel on the latency lane', async () => {
    pair = await connectionPair('memory')
    const link = pair.pair.links.a
    const dataOn = { latency: 0, bulk: 0 }
    const send = link.send.bind(link)
    // DATA frames (type 2) alone or first in a batch (type 10, entry at byte 8) on each lane.
    link.send = (data, lane = 'latency') => {
      if (data[0] === 2 || (data[0] === 10 && data[8] === 2)) dataOn[lane]++
      return send(data, lane)
    }
    const [tx, rx] = bytes.channel()
    const remoteRx = await pair.transfer(rx)
    await tx.write(new Uint8Array(100_000))
    tx.close()
    let received = 0
    for await (const chunk of remoteRx) received += chunk.byteLength
    expect(received).toBe(100_000)
    expect(dataOn.bulk).toBeGreaterThan(0)
    const bulkBefore = dataOn.bulk
    const [smallTx, smallRx] = mpsc.channel<number>()
    const remoteSmall = await pair.transfer(smallRx)
    await smallTx.send(1)
    expect(await remoteSmall.recv()).toBe(1)
    expect(dataOn.bulk).toBe(bulkBefore)
  })

  it("a bytes item sent as [header, bytes] parts is byte for byte the codec's encoding of [0, bytes]", async () => {
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

  for (const moved of ['sender', 'receiver'] as const) {
    it(`with the ${moved} sent to another peer, a write reads its bytes as they go out: what arrives is what the buffer held until write resolved`, async () => {
      pair = await connectionPair('memory')
      const [localTx, localRx] = bytes.channel()
      const tx = moved === 'sender' ? await pair.transfer(localTx) : localTx
      const rx = moved === 'receiver' ? await pair.transfer(localRx) : localRx
      // Four times the stream's credit window: most of each write waits for credit after it was queued.
      const buffer = new Uint8Array(1024 * 1024)
      const reading = (async () => {
        const runs: Array<{ fill: number; bytes: number }> = []
        for await (const chunk of rx) {
          for (const byte of chunk) {
            const last = runs.at(-1)
            if (last?.fill === byte) last.bytes++
            else runs.push({ fill: byte, bytes: 1 })
          }
        }
        return runs
      })()
      for (const fill of [1, 2, 3]) {
        buffer.fill(fill)
        await tx.write(buffer) // reused once the write resolved
      }
      tx.close()
      expect(await reading).toEqual([1, 2, 3].map((fill) => ({ fill, bytes: buffer.byteLength })))
      expect(tx.bytesSent).toBe(3 * buffer.byteLength)
    })
  }

  it('a writer whose remote receiver goes away is not left waiting, and its next write fails', async () => {
    pair = await connectionPair('memory')
    const [tx, localRx] = bytes.channel({ chunkBytes: 1000 })
    const rx = await pair.transfer(localRx)
    await tx.write(new Uint8Array(10))
    rx.close()
    await expect(tx.closed()).resolves.toBe('closed')
    await expect(tx.write(new Uint8Array(10))).rejects.toMatchObject({ code: 'CHANNEL_CLOSED' })
  })

  it('a large write reaches a remote bytes receiver in the pieces it arrived in, a remote mpsc receiver of bytes whole', async () => {
    pair = await connectionPair('memory')
    const written = new Uint8Array(64 * 1024).map((_, i) => i % 251)
    const [tx, rx] = bytes.channel()
    const remoteRx = await pair.transfer(rx)
    await tx.write(written)
    tx.close()
    const pieces: Uint8Array[] = []
    for await (const piece of remoteRx) pieces.push(piece)
    expect(pieces.length).toBeGreaterThan(1) // 64 KiB crosses in 16 KiB frames
    expect(Buffer.concat(pieces).equals(Buffer.from(written))).toBe(true)
    expect(remoteRx.bytesReceived).toBe(written.byteLength)

    const [valuesTx, valuesRx] = mpsc.channel<Uint8Array>()
    const remoteValuesRx = await pair.transfer(valuesRx)
    await valuesTx.send(written)
    valuesTx.close()
    const values: Uint8Array[] = []
    for await (const value of remoteValuesRx) values.push(value)
    expect(values.map((value) => value.byteLength)).toEqual([written.byteLength])
    expect(Buffer.from(values[0]!).equals(Buffer.from(written))).toBe(true)
  })

  it('binaryItemPieces takes only a bytes item whose header is whole in the first chunk and whose length adds up', () => {
    const body = new Uint8Array(300).fill(9)
    const [header] = binaryItemParts(body) // 0x92 0x00 0xc5 0x01 0x2c
    const split = (bytes: Uint8Array, ...at: number[]) => [0, ...at].map((start, i) => bytes.subarray(start, [...at, bytes.byteLength][i]))
    const whole = Buffer.concat([header, body])
    expect(binaryItemPieces(split(whole, 100, 200), 1 << 20)?.map((piece) => piece.byteLength)).toEqual([95, 100, 105])
    expect(binaryItemPieces(split(whole, 5, 200), 1 << 20)?.map((piece) => piece.byteLength)).toEqual([195, 105]) // an empty first piece is left out
    expect(binaryItemPieces(split(whole, 3, 200), 1 << 20)).toBeUndefined() // the length is cut in two
    expect(binaryItemPieces(split(whole.subarray(0, 304), 100), 1 << 20)).toBeUndefined() // one byte short
    expect(binaryItemPieces(split(whole, 100), 299)).toBeUndefined() // over the binary limit
    expect(binaryItemPieces(split(Buffer.from([0x92, 0x01, 0xc4, 1, 0]), 4), 1 << 20)).toBeUndefined() // an error item, not a value
    expect(binaryItemPieces(split(Buffer.from([0x92, 0x00, 0xa3, 0x61, 0x62, 0x63]), 4), 1 << 20)).toBeUndefined() // a string value
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
