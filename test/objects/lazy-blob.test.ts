import { afterEach, describe, expect, it } from 'vitest'
import type { ByteSender } from '../../src/channels/bytes.js'
import type { Connection } from '../../src/channels/connection.js'
import { ENCODE_PORT, type Portable } from '../../src/channels/port.js'
import { lazyBlob } from '../../src/objects/lazy-blob.js'
import { configureObjects, objectCount } from '../../src/objects/limits.js'
import { pattern } from '../mux/helpers.js'
import { delay, peers, until, type Peers } from './helpers.js'

/**
 * A hostile provider: a blob port announcing `announced` bytes whose fetches it answers itself,
 * writing `actual` bytes. `fetches` counts the requests that reached it.
 */
function lyingBlob(connection: Connection, announced: number, actual: number): { port: Portable; fetches: () => number } {
  const stream = connection.openPortStream()
  let fetches = 0
  const serve = async () => {
    for (let bytes = await stream.receive(); bytes !== null; bytes = await stream.receive()) {
      fetches++
      const [, sender] = connection.decode(bytes) as [number, ByteSender]
      await sender.write(pattern(actual, 7)).catch(() => {})
      sender.close()
      await stream.send(connection.encode([0, announced])).catch(() => {})
    }
    stream.close()
  }
  class Lying implements Portable {
    [ENCODE_PORT]() {
      return { payload: { k: 'blob', s: stream.id, o: { n: announced } }, activate: () => void serve().catch(() => {}), rollback() {} }
    }
  }
  return { port: new Lying(), fetches: () => fetches }
}

describe('lazy blobs', () => {
  let net: Peers | undefined
  afterEach(async () => {
    await net?.dispose()
    net = undefined
  })

  it('12 MB arrive byte-exact through get(), with progress; the size is known before fetching', async () => {
    net = await peers(2)
    const data = pattern(12 * 1024 * 1024 + 13, 3)
    const atB = await net.carry(0, 1, { blob: lazyBlob(data) })
    expect(atB.blob.size).toBe(data.byteLength)
    const progress: number[] = []
    const got = await atB.blob.get({ onProgress: (received) => progress.push(received) })
    expect(got.byteLength).toBe(data.byteLength)
    expect(Buffer.compare(got, data)).toBe(0)
    expect(progress.length).toBeGreaterThan(10)
    expect(progress.at(-1)).toBe(data.byteLength)
    expect(progress).toEqual([...progress].sort((x, y) => x - y))
    atB.blob.close()
  })

  it('stream() gives a ReadableStream of the same bytes; a Blob works as the source', async () => {
    net = await peers(2)
    const data = pattern(3 * 1024 * 1024, 5)
    const atB = await net.carry(0, 1, lazyBlob(new Blob([data as Uint8Array<ArrayBuffer>])))
    const parts: Uint8Array[] = []
    for await (const chunk of atB.stream() as unknown as AsyncIterable<Uint8Array>) parts.push(chunk.slice())
    expect(Buffer.compare(Buffer.concat(parts), data)).toBe(0)
    // A second fetch of the same blob works too.
    expect(Buffer.compare(await atB.get(), data)).toBe(0)
    atB.close()
  })

  it('a stream cancelled part way leaves the blob usable', async () => {
    net = await peers(2)
    const data = pattern(2 * 1024 * 1024, 9)
    const atB = await net.carry(0, 1, lazyBlob(data))
    const reader = atB.stream().getReader()
    await reader.read()
    await reader.cancel()
    expect(Buffer.compare(await atB.get(), data)).toBe(0)
    atB.close()
  })

  it('forwards to a third peer, which fetches through the middle one', async () => {
    net = await peers(3)
    const data = pattern(1024 * 1024 + 1, 11)
    const atB = await net.carry(0, 1, lazyBlob(data))
    const atC = await net.carry(1, 2, atB)
    atB.close()
    expect(atC.size).toBe(data.byteLength)
    expect(Buffer.compare(await atC.get(), data)).toBe(0)
    atC.close()
  })

  it('a size over the receiver’s limit is refused with BLOB_TOO_LARGE before anything is fetched', async () => {
    net = await peers(2)
    const lying = lyingBlob(net.connection(0, 1), 4096, 4096)
    const atB = await net.carry(0, 1, lying.port as never as ReturnType<typeof lazyBlob>)
    await expect(atB.get({ maxBytes: 4095 })).rejects.toMatchObject({ code: 'BLOB_TOO_LARGE' })
    configureObjects(net.connection(1, 0), { maxBlobBytes: 1000 })
    await expect(atB.get()).rejects.toMatchObject({ code: 'BLOB_TOO_LARGE' })
    await delay(20)
    expect(lying.fetches()).toBe(0)
    configureObjects(net.connection(1, 0), {})
    expect((await atB.get({ maxBytes: 4096 })).byteLength).toBe(4096) // exactly at the limit
    atB.close()
  })

  it('a blob whose size lies — more or fewer bytes than announced — fails with BLOB_SIZE_MISMATCH', async () => {
    net = await peers(2)
    for (const [announced, actual] of [
      [1000, 70_000],
      [70_000, 1000],
      [10, 0],
    ] as const) {
      const lying = lyingBlob(net.connection(0, 1), announced, actual)
      const atB = await net.carry(0, 1, lying.port as never as ReturnType<typeof lazyBlob>)
      await expect(atB.get()).rejects.toMatchObject({ code: 'BLOB_SIZE_MISMATCH' })
      atB.close()
    }
  })

  it('fetches waiting at once are bounded: one more is refused with OBJECT_LIMIT', async () => {
    net = await peers(2)
    configureObjects(net.connection(1, 0), { maxPendingFetches: 2 })
    const data = pattern(512 * 1024, 13)
    const atB = await net.carry(0, 1, lazyBlob(data))
    const first = atB.get()
    const second = atB.get()
    await expect(atB.get()).rejects.toMatchObject({ code: 'OBJECT_LIMIT' })
    expect((await first).byteLength).toBe(data.byteLength)
    expect((await second).byteLength).toBe(data.byteLength)
    atB.close()
    await until('the blob stream is over', () => objectCount(net!.connection(1, 0)) === 0)
  })

  it('a fetch under way settles with OBJECT_GONE when the provider goes away', async () => {
    net = await peers(2)
    let release!: () => void
    const stalled = new Promise<void>((resolve) => (release = resolve))
    const blob = new Blob([pattern(1024, 1) as Uint8Array<ArrayBuffer>])
    const slow = Object.assign(blob, {
      stream: () =>
        new ReadableStream<Uint8Array>({
          async pull(controller) {
            await stalled
            controller.close()
          },
        }),
    })
    const atB = await net.carry(0, 1, lazyBlob(slow))
    const settled = expect(atB.get()).rejects.toMatchObject({ code: 'OBJECT_GONE' })
    await delay(20)
    await net.cut(0, 1)
    await settled
    release()
  })
})
