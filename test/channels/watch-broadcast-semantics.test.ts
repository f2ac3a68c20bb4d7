/**
 * watch and broadcast read against remoc (issue 15 §3): `sendReplace`, `hasChanged()` on a fresh
 * receiver, and a send with no receiver left failing with CHANNEL_CLOSED and the value — in this
 * process and with the halves on the other side of the memory pair.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as broadcast from '../../src/channels/broadcast.js'
import { SendClosedError } from '../../src/channels/errors.js'
import * as watch from '../../src/channels/watch.js'
import { connectionPair, until, type ConnectionPair } from './helpers.js'

function thrown(action: () => unknown): unknown {
  try {
    action()
  } catch (error) {
    return error
  }
  throw new Error('it did not throw')
}

describe('watch', () => {
  let pair: ConnectionPair
  afterEach(async () => pair?.dispose())

  it('sendReplace returns the previous value, and works with no receiver left', () => {
    const [tx, rx] = watch.channel('a')
    expect(tx.sendReplace('b')).toBe('a')
    expect(rx.hasChanged()).toBe(true)
    expect(rx.borrow()).toBe('b')
    expect(rx.hasChanged()).toBe(false)
    rx.close()
    expect(tx.sendReplace('c')).toBe('b')
    expect(tx.borrow()).toBe('c')
  })

  it('hasChanged() is false on a fresh receiver, a subscription, and one that just arrived from a peer', async () => {
    pair = await connectionPair()
    const [tx, rx] = watch.channel(1)
    tx.send(2)
    expect(tx.subscribe().hasChanged()).toBe(false)
    expect(rx.clone().hasChanged()).toBe(true) // a clone keeps what its original had seen
    const remote = await pair.transfer(tx.subscribe())
    expect(remote.hasChanged()).toBe(false)
    expect(remote.borrow()).toBe(2)
    tx.send(3)
    await until('the new value arrived', () => remote.hasChanged())
    expect(remote.borrow()).toBe(3)
  })

  it('send fails with CHANNEL_CLOSED and the value once every receiver is gone', () => {
    const [tx, rx] = watch.channel(0)
    const other = rx.clone()
    rx.close()
    tx.send(1)
    other[Symbol.dispose]()
    expect(tx.isClosed).toBe(true)
    const error = thrown(() => tx.send(2))
    expect(error).toBeInstanceOf(SendClosedError)
    expect(error).toMatchObject({ code: 'CHANNEL_CLOSED', reason: 'dropped', value: 2 })
    expect(tx.borrow()).toBe(1) // not stored
    const late = tx.subscribe()
    tx.send(3) // a new receiver: sends work again
    expect(late.borrow()).toBe(3)
  })

  it('a sender sent to a peer fails there once the receivers here are gone', async () => {
    pair = await connectionPair()
    const [tx, rx] = watch.channel(0)
    const remoteTx = await pair.transfer(tx)
    remoteTx.send(1)
    await until('the value arrived', () => rx.hasChanged())
    rx.close()
    await remoteTx.closed()
    expect(thrown(() => remoteTx.send(2))).toMatchObject({ code: 'CHANNEL_CLOSED', value: 2 })
  })
})

describe('broadcast', () => {
  let pair: ConnectionPair
  afterEach(async () => pair?.dispose())

  it('send with no subscriber fails with CHANNEL_CLOSED carrying the value', () => {
    const [tx, rx] = broadcast.channel<string>(4)
    expect(tx.receiverCount).toBe(1)
    tx.send('kept')
    rx.close()
    expect(tx.receiverCount).toBe(0)
    const error = thrown(() => tx.send('lost'))
    expect(error).toBeInstanceOf(SendClosedError)
    expect(error).toMatchObject({ code: 'CHANNEL_CLOSED', reason: 'closed', value: 'lost' })
    const late = tx.subscribe()
    tx.send('seen')
    tx.close()
    return expect(late.recv()).resolves.toBe('seen')
  })

  it('a receiver moved to a peer still counts; its going there makes sends here fail', async () => {
    pair = await connectionPair()
    const [tx, rx] = broadcast.channel<number>(4)
    const remoteRx = await pair.transfer(rx)
    expect(tx.receiverCount).toBe(1)
    tx.send(1)
    expect(await remoteRx.recv()).toBe(1)
    remoteRx[Symbol.dispose]()
    await until('the receiver there is gone', () => tx.receiverCount === 0)
    expect(thrown(() => tx.send(2))).toMatchObject({ code: 'CHANNEL_CLOSED', value: 2 })
  })

  it('a sender moved to a peer fails there once every receiver here is gone', async () => {
    pair = await connectionPair()
    const [tx, rx] = broadcast.channel<number>(4)
    const second = tx.subscribe()
    const remoteTx = await pair.transfer(tx)
    remoteTx.send(1)
    expect(await rx.recv()).toBe(1)
    rx.close()
    remoteTx.send(2) // one receiver is left here
    expect(await second.recv()).toBe(1)
    expect(await second.recv()).toBe(2)
    second.close()
    await until('the sender there learned', () => remoteTx.receiverCount === 0)
    expect(thrown(() => remoteTx.send(3))).toMatchObject({ code: 'CHANNEL_CLOSED', value: 3 })
  })
})
