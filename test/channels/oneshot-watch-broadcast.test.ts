import { afterEach, describe, expect, it } from 'vitest'
import * as broadcast from '../../src/channels/broadcast.js'
import { LaggedError } from '../../src/channels/errors.js'
import * as oneshot from '../../src/channels/oneshot.js'
import * as watch from '../../src/channels/watch.js'
import { connectionPair, tick, type ConnectionPair } from './helpers.js'

describe('oneshot, watch and broadcast across a connection', () => {
  let pair: ConnectionPair
  afterEach(async () => pair?.dispose())

  it('oneshot: a value crosses either way; a sender gone without sending rejects with its reason', async () => {
    pair = await connectionPair()
    const [tx, rx] = oneshot.channel<string>()
    const remoteTx = await pair.transfer(tx)
    await remoteTx.send('the answer')
    expect(await rx.recv()).toBe('the answer')

    const [tx2, rx2] = oneshot.channel<string>()
    const remoteRx = await pair.transfer(rx2)
    await tx2.send('there')
    expect(await remoteRx.recv()).toBe('there')

    for (const [end, reason] of [
      ['close', 'closed'],
      ['drop', 'dropped'],
    ] as const) {
      const [tx3, rx3] = oneshot.channel<string>()
      const remote = await pair.transfer(tx3)
      if (end === 'close') remote.close()
      else remote[Symbol.dispose]()
      await expect(rx3.recv()).rejects.toMatchObject({ code: 'CHANNEL_CLOSED', reason })
    }
    const [tx4] = oneshot.channel<number>()
    await tx4.send(1).catch(() => {})
    await expect(tx4.send(2)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })

  it('watch: a remote receiver may skip values but ends on the last one', async () => {
    pair = await connectionPair()
    const [tx, rx] = watch.channel(0)
    const remoteRx = await pair.transfer(rx)
    expect(remoteRx.borrow()).toBe(0)
    for (let i = 1; i <= 500; i++) tx.send(i)
    tx.close()
    const seen: number[] = []
    while (await remoteRx.changed()) seen.push(remoteRx.borrow())
    expect(seen.at(-1)).toBe(500)
    expect(seen).toEqual([...seen].sort((x, y) => x - y))
    expect(await remoteRx.changed()).toBe(false)
    expect(remoteRx.senderGone).toBe('closed')
  })

  it('watch: a sent sender drives the local receivers; its drop is reported', async () => {
    pair = await connectionPair()
    const [tx, rx] = watch.channel('initial')
    const remoteTx = await pair.transfer(tx)
    expect(remoteTx.borrow()).toBe('initial')
    remoteTx.send('from there')
    expect(await rx.changed()).toBe(true)
    expect(rx.borrow()).toBe('from there')
    remoteTx[Symbol.dispose]()
    expect(await rx.changed()).toBe(false)
    expect(rx.senderGone).toBe('dropped')
  })

  it('broadcast: a subscriber that falls behind gets exactly one Lagged error, then newer values in order', async () => {
    pair = await connectionPair()
    const [tx, rx] = broadcast.channel<number>(4)
    const other = tx.subscribe()
    const remoteRx = await pair.transfer(rx)
    for (let i = 0; i < 100; i++) tx.send(i) // never blocks
    tx.close()
    const values: number[] = []
    let lagged = 0
    for (;;) {
      try {
        const value = await remoteRx.recv()
        if (value === undefined) break
        values.push(value)
      } catch (error) {
        expect(error).toBeInstanceOf(LaggedError)
        lagged++
      }
    }
    expect(lagged).toBe(1)
    expect(values.at(-1)).toBe(99)
    expect(values).toEqual([...values].sort((x, y) => x - y))
    // A local subscriber that reads late lags once too, by exactly what it missed.
    await expect(other.recv()).rejects.toMatchObject({ code: 'CHANNEL_LAGGED', skipped: 96 })
    expect(await other.recv()).toBe(96)
  })

  it('broadcast: a sent sender publishes to every local subscriber; every subscriber sees every value', async () => {
    pair = await connectionPair()
    const [tx, first] = broadcast.channel<string>(64)
    const second = tx.subscribe()
    const remoteTx = await pair.transfer(tx)
    expect(() => tx.send('moved')).toThrow(expect.objectContaining({ code: 'CHANNEL_CLOSED' }))
    for (const word of ['a', 'b', 'c']) remoteTx.send(word)
    remoteTx.close()
    const drain = async (rx: broadcast.Receiver<string>) => {
      const out: string[] = []
      for await (const value of rx) out.push(value)
      return out
    }
    expect(await drain(first)).toEqual(['a', 'b', 'c'])
    expect(await drain(second)).toEqual(['a', 'b', 'c'])
    await tick(0)
  })
})
