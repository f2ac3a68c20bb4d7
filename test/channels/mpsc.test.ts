import { afterEach, describe, expect, it } from 'vitest'
import * as mpsc from '../../src/channels/mpsc.js'
import { ChannelClosedError } from '../../src/channels/errors.js'
import { connectionPair, tick, until, type ConnectionPair } from './helpers.js'

describe('mpsc across a connection (remoc behaviours)', () => {
  let pair: ConnectionPair
  afterEach(async () => pair?.dispose())

  it('1..1023 arrive in order through a received receiver', async () => {
    pair = await connectionPair()
    const [tx, rx] = mpsc.channel<number>()
    const remoteRx = await pair.transfer(rx)
    const sending = (async () => {
      for (let i = 1; i <= 1023; i++) await tx.send(i)
      tx.close()
    })()
    const received: number[] = []
    for await (const value of remoteRx) received.push(value)
    await sending
    expect(received).toEqual(Array.from({ length: 1023 }, (_, i) => i + 1))
    // The moved receiver cannot be used here any more.
    await expect(rx.recv()).rejects.toMatchObject({ code: 'CHANNEL_MOVED' })
  })

  it('1..1023 arrive in order through a received sender (clones included)', async () => {
    pair = await connectionPair()
    const [tx, rx] = mpsc.channel<number>()
    const remoteTx = await pair.transfer(tx)
    await expect(tx.send(0)).rejects.toMatchObject({ code: 'CHANNEL_MOVED' })
    const clone = remoteTx.clone()
    for (let i = 1; i <= 1023; i++) await (i % 2 ? remoteTx : clone).send(i)
    remoteTx.close()
    clone.close()
    const received: number[] = []
    for await (const value of rx) received.push(value)
    expect(received).toEqual(Array.from({ length: 1023 }, (_, i) => i + 1))
  })

  it('the sender learns why the receiver went: closed, dropped, or disconnected', async () => {
    pair = await connectionPair()
    const reasons: string[] = []
    for (const end of ['close', 'drop'] as const) {
      const [tx, rx] = mpsc.channel<number>()
      const remoteRx = await pair.transfer(rx)
      await tx.send(1)
      expect(await remoteRx.recv()).toBe(1)
      if (end === 'close') remoteRx.close()
      else remoteRx[Symbol.dispose]()
      reasons.push(await tx.closed())
      const error = await (async () => {
        for (;;) await tx.send(2)
      })().catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(ChannelClosedError)
      expect((error as ChannelClosedError).reason).toBe(end === 'close' ? 'closed' : 'dropped')
    }
    const [tx, rx] = mpsc.channel<number>()
    await pair.transfer(rx)
    pair.pair.sever()
    reasons.push(await tx.closed())
    expect(reasons).toEqual(['closed', 'dropped', 'disconnected'])
  })

  it('the receiver learns when a remote sender vanished with the connection', async () => {
    pair = await connectionPair()
    const [tx, rx] = mpsc.channel<number>()
    const remoteTx = await pair.transfer(tx)
    await remoteTx.send(1)
    expect(await rx.recv()).toBe(1)
    pair.pair.sever()
    await expect(rx.recv()).rejects.toMatchObject({ code: 'CHANNEL_CLOSED', reason: 'disconnected' })
    expect(await rx.recv()).toBeUndefined()
  })

  it('values sent before a close are delivered', async () => {
    pair = await connectionPair()
    const [tx, rx] = mpsc.channel<string>({ capacity: 64 })
    const remoteTx = await pair.transfer(tx)
    for (let i = 0; i < 50; i++) void remoteTx.send(`v${i}`)
    remoteTx.close()
    const received: string[] = []
    for await (const value of rx) received.push(value)
    expect(received).toHaveLength(50)
    expect(received.at(-1)).toBe('v49')
  })

  it('an oversize send fails that send only; an oversize item on the way fails that receive only', async () => {
    pair = await connectionPair()
    const [tx, rx] = mpsc.channel<Uint8Array>({ maxItemBytes: 1000 })
    const remoteTx = await pair.transfer(tx)
    await expect(remoteTx.send(new Uint8Array(2000))).rejects.toMatchObject({ code: 'ITEM_TOO_LARGE' })
    await remoteTx.send(new Uint8Array(10))
    expect((await rx.recv())!.byteLength).toBe(10)

    const [tx2, rx2] = mpsc.channel<Uint8Array>()
    rx2.maxItemBytes = 1000
    const remoteRx = await pair.transfer(rx2)
    await tx2.send(new Uint8Array(2000)) // accepted locally; too big for the receiver's limit on the way
    await tx2.send(new Uint8Array(20))
    await expect(remoteRx.recv()).rejects.toMatchObject({ code: 'ITEM_TOO_LARGE' })
    expect((await remoteRx.recv())!.byteLength).toBe(20)
  })

  it("two channel halves in one value are both live, and a half nested in another channel's value works", async () => {
    pair = await connectionPair()
    const [tx1, rx1] = mpsc.channel<string>()
    const [tx2, rx2] = mpsc.channel<string>()
    const remote = await pair.transfer({ deep: [{ sender: tx1 }], receiver: rx2 })
    await remote.deep[0]!.sender.send('to here')
    await tx2.send('to there')
    expect(await rx1.recv()).toBe('to here')
    expect(await remote.receiver.recv()).toBe('to there')

    const [outerTx, outerRx] = mpsc.channel<{ reply: mpsc.Sender<string> }>()
    const remoteOuterRx = await pair.transfer(outerRx)
    const [replyTx, replyRx] = mpsc.channel<string>()
    await outerTx.send({ reply: replyTx })
    const { reply } = (await remoteOuterRx.recv())!
    await reply.send('nested works')
    expect(await replyRx.recv()).toBe('nested works')
  })

  it('a value that cannot be encoded sends nothing and moves nothing', async () => {
    pair = await connectionPair()
    const [, rx] = mpsc.channel<number>()
    expect(() => pair.a.encode({ rx, bad: Symbol('no') })).toThrow()
    await tick(10)
    expect(pair.a.session.streamCount).toBe(0) // the stream opened for rx was reset
    const [tx2] = mpsc.channel<number>()
    void tx2
    // rx is still usable here: it was not moved.
    const remote = await pair.transfer(rx)
    expect(remote).toBeInstanceOf(mpsc.Receiver)
  })

  it('a bounded channel pushes back across the wire', async () => {
    pair = await connectionPair()
    const [tx, rx] = mpsc.channel<Uint8Array>({ capacity: 2 })
    const remoteTx = await pair.transfer(tx)
    let sent = 0
    const sending = (async () => {
      for (let i = 0; i < 100; i++) {
        await remoteTx.send(new Uint8Array(64 * 1024))
        sent++
      }
      remoteTx.close()
    })()
    await tick(100)
    // capacity 2 here, one stream window (256 KiB) and a pump in between: far fewer than 100.
    expect(sent).toBeLessThan(12)
    let count = 0
    for await (const _ of rx) count++
    await sending
    expect(count).toBe(100)
  })

  it('releases streams when endpoints are closed', async () => {
    pair = await connectionPair()
    for (let i = 0; i < 20; i++) {
      const [tx, rx] = mpsc.channel<number>()
      const remoteRx = await pair.transfer(rx)
      await tx.send(i)
      expect(await remoteRx.recv()).toBe(i)
      tx.close()
      expect(await remoteRx.recv()).toBeUndefined()
    }
    await until('streams released', () => pair.a.session.streamCount === 0 && pair.b.session.streamCount === 0)
  })
})
