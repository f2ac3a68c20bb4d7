/**
 * A loop that awaits each `send` of small values: the values share link messages (the session
 * gathers frames after a message with room left, src/mux/coalesce.ts; the channel's sending side
 * runs ahead of the link within its capacity, src/channels/send-ahead.ts), in order, none lost.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as mpsc from '../../src/channels/mpsc.js'
import type { Link } from '../../src/transport/link.js'
import { connectionPair, type ConnectionPair } from './helpers.js'

/** Counts the messages a link is asked to send from now on. */
function countSends(link: Link): { readonly count: number } {
  const counter = { count: 0 }
  const send = link.send.bind(link)
  link.send = (data) => {
    counter.count++
    return send(data)
  }
  return counter
}

const VALUES = 1000

describe('small values sent one awaited send at a time share link messages', () => {
  let pair: ConnectionPair
  afterEach(async () => pair?.dispose())

  it('through a receiver on the other peer', async () => {
    pair = await connectionPair()
    const [tx, rx] = mpsc.channel<Uint8Array>()
    const remoteRx = await pair.transfer(rx)
    const messages = countSends(pair.pair.links.a)
    const value = new Uint8Array(100)
    const sending = (async () => {
      for (let i = 0; i < VALUES; i++) await tx.send(Uint8Array.of(i % 256, ...value.subarray(1)))
      tx.close()
    })()
    const received: number[] = []
    for await (const value of remoteRx) received.push(value[0]!)
    await sending
    expect(received).toEqual(Array.from({ length: VALUES }, (_, i) => i % 256))
    // One message per value before; about 14 values a message now.
    expect(messages.count).toBeLessThan(VALUES / 4)
  })

  it('through a sender received from the other peer', async () => {
    pair = await connectionPair()
    const [tx, rx] = mpsc.channel<Uint8Array>()
    const remoteTx = await pair.transfer(tx)
    const messages = countSends(pair.pair.links.b)
    const value = new Uint8Array(100)
    const sending = (async () => {
      for (let i = 0; i < VALUES; i++) await remoteTx.send(Uint8Array.of(i % 256, ...value.subarray(1)))
      remoteTx.close()
    })()
    const received: number[] = []
    for await (const value of rx) received.push(value[0]!)
    await sending
    expect(received).toEqual(Array.from({ length: VALUES }, (_, i) => i % 256))
    expect(messages.count).toBeLessThan(VALUES / 4)
  })

  it('a send resolved while its value waited for the link: if the connection then fails, the next send and closed() say disconnected', async () => {
    pair = await connectionPair()
    const [tx, rx] = mpsc.channel<Uint8Array>()
    const remoteTx = await pair.transfer(tx)
    // The link takes nothing more: values stay queued on the stream.
    pair.pair.links.b.send = () => new Promise<void>(() => {})
    await remoteTx.send(Uint8Array.of(1)) // resolves: the channel holds it (within its capacity)
    pair.pair.sever()
    expect(await remoteTx.closed()).toBe('disconnected')
    await expect(remoteTx.send(Uint8Array.of(2))).rejects.toMatchObject({ code: 'CHANNEL_CLOSED', reason: 'disconnected' })
    rx.close()
  })

  it('past its capacity, a remote sender waits for the link again', async () => {
    pair = await connectionPair()
    const [tx] = mpsc.channel<Uint8Array>({ capacity: 4 })
    const remoteTx = await pair.transfer(tx)
    pair.pair.links.b.send = () => new Promise<void>(() => {})
    await remoteTx.send(Uint8Array.of(0))
    await new Promise((resolve) => setTimeout(resolve, 5)) // the writer packed it, and waits on the link
    let resolved = 0
    for (let i = 1; i < 10; i++)
      remoteTx.send(Uint8Array.of(i)).then(
        () => resolved++,
        () => {},
      )
    await new Promise((resolve) => setTimeout(resolve, 20))
    // At most four wait on the stream with their sends resolved (value 0 among them if the link got
    // stuck on an earlier message); the others wait for the link.
    expect(resolved).toBeGreaterThanOrEqual(3)
    expect(resolved).toBeLessThanOrEqual(4)
  })
})
