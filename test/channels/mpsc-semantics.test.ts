/**
 * The mpsc semantics read against remoc (issue 15 §3): a receiver's close keeps what is queued, a
 * lost sender's error is held back until the other senders are gone, `trySend`, `reserve` permits
 * and `recvMany` — in this process and across the memory pair, with a peer playing hostile.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type * as bytes from '../../src/channels/bytes.js'
import * as mpsc from '../../src/channels/mpsc.js'
import { encodeItem } from '../../src/channels/items.js'
import { MeshscopeError } from '../../src/errors.js'
import { connectionPair, hostilePort, tick, until, type ConnectionPair } from './helpers.js'

describe('mpsc: close keeps what is queued', () => {
  let pair: ConnectionPair
  afterEach(async () => pair?.dispose())

  it('values queued before close() stay receivable; senders fail with closed', async () => {
    const [tx, rx] = mpsc.channel<number>({ capacity: 8 })
    for (let i = 1; i <= 3; i++) await tx.send(i)
    rx.close()
    await expect(tx.send(4)).rejects.toMatchObject({ code: 'CHANNEL_CLOSED', reason: 'closed' })
    expect(tx.isClosed).toBe(true)
    const received: number[] = []
    for await (const value of rx) received.push(value)
    expect(received).toEqual([1, 2, 3])
    expect(await rx.recv()).toBeUndefined()
  })

  it('a received receiver: close() keeps what arrived; the remote sender learns closed', async () => {
    pair = await connectionPair()
    const [tx, rx] = mpsc.channel<number>({ capacity: 8 })
    const remoteRx = await pair.transfer(rx)
    for (let i = 1; i <= 3; i++) await tx.send(i)
    // The first arrived; then close once the other two did too (they count in the peer's budget).
    const first = await remoteRx.recv()
    await until('two values held', () => pair.b.session.stats().channelBytes > 0)
    await tick(20)
    remoteRx.close()
    expect(await tx.closed()).toBe('closed')
    const rest: number[] = []
    for await (const value of remoteRx) rest.push(value)
    expect([first, ...rest]).toEqual([1, 2, 3])
  })

  it('disposing after close discards the queue and gives its bytes back to the peer budget (hostile flood)', async () => {
    pair = await connectionPair()
    const { port, stream } = hostilePort(pair.a, { k: 'mpsc.rx', o: { c: 64 } })
    const [rx] = await pair.transfer([port as unknown as mpsc.Receiver<Uint8Array>])
    const item = encodeItem(pair.a, { ok: true, value: new Uint8Array(1000) })
    for (let i = 0; i < 16; i++) void stream.send(item).catch(() => {})
    await until('items held', () => pair.b.session.stats().channelBytes > 0)
    rx!.close()
    expect((await rx!.recv())?.byteLength).toBe(1000) // still receivable after close
    rx![Symbol.dispose]()
    await until('the budget freed', () => pair.b.session.stats().channelBytes === 0)
    expect(await rx!.recv()).toBeUndefined()
  })
})

describe('bytes: a cancelled readable discards what is buffered', () => {
  let pair: ConnectionPair
  afterEach(async () => pair?.dispose())

  it('cancel gives the bytes back to the peer budget at once (a close would keep them readable)', async () => {
    pair = await connectionPair()
    const { port, stream } = hostilePort(pair.a, { k: 'bytes.rx', o: { c: 64 } })
    const [rx] = await pair.transfer([port as unknown as bytes.ByteReceiver])
    const item = encodeItem(pair.a, { ok: true, value: new Uint8Array(1000) })
    for (let i = 0; i < 16; i++) void stream.send(item).catch(() => {})
    await until('items held', () => pair.b.session.stats().channelBytes > 0)
    await rx!.readable.cancel()
    await until('the budget freed', () => pair.b.session.stats().channelBytes === 0)
  })
})

describe('mpsc: a lost sender’s error is held back', () => {
  let pair: ConnectionPair
  afterEach(async () => pair?.dispose())

  it('a remote sender vanishing does not end the receiver while a local sender goes on; its error surfaces once at the end', async () => {
    pair = await connectionPair()
    const [tx, rx] = mpsc.channel<number>()
    const remoteTx = await pair.transfer(tx.clone())
    await remoteTx.send(1)
    expect(await rx.recv()).toBe(1)
    pair.pair.sever()
    await until('the error held', () => rx.error !== undefined)
    expect(rx.error).toMatchObject({ code: 'CHANNEL_CLOSED', reason: 'disconnected' })
    const received: number[] = []
    const reading = (async () => {
      try {
        for await (const value of rx) received.push(value)
        return 'ended'
      } catch (error) {
        return (error as MeshscopeError).code
      }
    })()
    await tx.send(2)
    await tx.send(3)
    tx.close()
    expect(await reading).toBe('CHANNEL_CLOSED') // after 2 and 3, not before
    expect(received).toEqual([2, 3])
    expect(await rx.recv()).toBeUndefined() // surfaced once
    expect(rx.error).toBeUndefined()
  })

  it('the last sender lost while nobody reads: the next recv still throws its error once', async () => {
    pair = await connectionPair()
    const [tx, rx] = mpsc.channel<number>()
    const remoteTx = await pair.transfer(tx)
    await remoteTx.send(1)
    expect(await rx.recv()).toBe(1)
    pair.pair.sever()
    await until('the sender is gone', () => rx.senderGone !== undefined)
    await expect(rx.recv()).rejects.toMatchObject({ code: 'CHANNEL_CLOSED', reason: 'disconnected' })
    expect(await rx.recv()).toBeUndefined()
  })

  it('takeError() takes it: the end is then a plain end', async () => {
    pair = await connectionPair()
    const [tx, rx] = mpsc.channel<number>()
    await pair.transfer(tx.clone())
    pair.pair.sever()
    await until('the error held', () => rx.error !== undefined)
    expect(rx.takeError()).toMatchObject({ code: 'CHANNEL_CLOSED' })
    tx.close()
    expect(await rx.recv()).toBeUndefined()
  })

  it('a hostile peer sending many CHANNEL_CLOSED items: one is held, none is queued', async () => {
    pair = await connectionPair()
    const { port, stream } = hostilePort(pair.a, { k: 'mpsc.rx', o: { c: 4 } })
    const [rx] = await pair.transfer([port as unknown as mpsc.Receiver<number>])
    const forged = encodeItem(pair.a, { ok: false, error: new MeshscopeError('CHANNEL_CLOSED', 'forged') })
    for (let i = 0; i < 100; i++) await stream.send(forged)
    await stream.send(encodeItem(pair.a, { ok: true, value: 7 }))
    expect(await rx!.recv()).toBe(7) // the forged items took no capacity
    expect(rx!.error).toMatchObject({ code: 'CHANNEL_CLOSED' })
    stream.close()
    await expect(rx!.recv()).rejects.toMatchObject({ code: 'CHANNEL_CLOSED' })
    expect(await rx!.recv()).toBeUndefined()
    expect(pair.b.session.stats().channelBytes).toBe(0)
  })
})

describe('mpsc: trySend, reserve, recvMany', () => {
  let pair: ConnectionPair
  afterEach(async () => pair?.dispose())

  it('trySend takes a value only while there is room', async () => {
    const [tx, rx] = mpsc.channel<number>({ capacity: 2 })
    expect(tx.trySend(1)).toBe(true)
    expect(tx.trySend(2)).toBe(true)
    expect(tx.trySend(3)).toBe(false)
    expect(await rx.recv()).toBe(1)
    expect(tx.trySend(3)).toBe(true)
    rx.close()
    expect(() => tx.trySend(4)).toThrow(expect.objectContaining({ code: 'CHANNEL_CLOSED' }))
    expect(await rx.recvMany(10)).toEqual([2, 3])
  })

  it('trySend hands a value straight to a waiting receiver', async () => {
    const [tx, rx] = mpsc.channel<number>({ capacity: 1 })
    const next = rx.recv()
    expect(tx.trySend(5)).toBe(true)
    expect(await next).toBe(5)
  })

  it('a permit keeps its slot: send() then never waits, and other senders wait for room', async () => {
    const [tx, rx] = mpsc.channel<number>({ capacity: 2 })
    const permit = await tx.reserve()
    await tx.send(1)
    expect(tx.trySend(2)).toBe(false) // the permit holds the second slot
    let sent = false
    const waiting = tx.send(3).then(() => (sent = true))
    await tick()
    expect(sent).toBe(false)
    permit.send(2)
    expect(() => permit.send(9)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(await rx.recvMany(2)).toEqual([1, 2])
    await waiting
    expect(await rx.recv()).toBe(3)
  })

  it('a permit released unused gives its slot back; reserve fails once the receiver is gone', async () => {
    const [tx, rx] = mpsc.channel<number>({ capacity: 1 })
    const permit = await tx.reserve()
    const second = tx.reserve()
    permit.release()
    const again = await second
    again.send(1)
    expect(await rx.recv()).toBe(1)
    rx.close()
    await expect(tx.reserve()).rejects.toMatchObject({ code: 'CHANNEL_CLOSED' })
  })

  it('a waiting reserve fails when the receiver goes away', async () => {
    const [tx, rx] = mpsc.channel<number>({ capacity: 1 })
    await tx.send(1)
    const waiting = tx.reserve()
    rx[Symbol.dispose]()
    await expect(waiting).rejects.toMatchObject({ code: 'CHANNEL_CLOSED', reason: 'dropped' })
  })

  it('a received sender: trySend and reserve respect the capacity on the stream, values arrive in order', async () => {
    pair = await connectionPair()
    const [tx, rx] = mpsc.channel<number>({ capacity: 4 })
    const remoteTx = await pair.transfer(tx)
    let taken = 0
    for (let i = 0; i < 100; i++) if (remoteTx.trySend(taken)) taken++
    expect(taken).toBeGreaterThan(0)
    expect(taken).toBeLessThanOrEqual(4)
    for (let i = taken; i < taken + 20; i++) (await remoteTx.reserve()).send(i)
    remoteTx.close()
    const received: number[] = []
    for (let batch = await rx.recvMany(8); batch.length > 0; batch = await rx.recvMany(8)) {
      expect(batch.length).toBeLessThanOrEqual(8)
      received.push(...batch)
    }
    expect(received).toEqual(Array.from({ length: taken + 20 }, (_, i) => i))
  })

  it('recvMany stops before a failed item and leaves it for the next call', async () => {
    pair = await connectionPair()
    const { port, stream } = hostilePort(pair.a, { k: 'mpsc.rx', o: { c: 16 } })
    const [rx] = await pair.transfer([port as unknown as mpsc.Receiver<number>])
    await stream.send(encodeItem(pair.a, { ok: true, value: 1 }))
    await stream.send(encodeItem(pair.a, { ok: true, value: 2 }))
    await stream.send(Uint8Array.of(0xc1)) // bytes that do not decode: a failed item
    await stream.send(encodeItem(pair.a, { ok: true, value: 3 }))
    await until('the items arrived', () => pair.b.session.stats().channelBytes > 0)
    await tick(20)
    expect(await rx!.recvMany(10)).toEqual([1, 2])
    await expect(rx!.recvMany(10)).rejects.toBeInstanceOf(MeshscopeError)
    expect(await rx!.recvMany(10)).toEqual([3])
    await expect(rx!.recvMany(0)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })
})
