/**
 * Endpoints that go away without `close()` are *dropped* (remoc's drop semantics): disposing one
 * (`using`) or letting the garbage collector take it releases its stream and tells the other half
 * `dropped`, where `close()` says `closed`. The collector is driven with `global.gc`, which the unit
 * test config exposes (`execArgv: ['--expose-gc']` in vitest.config.ts).
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as mpsc from '../../src/channels/mpsc.js'
import type { ChannelCloseReason } from '../../src/channels/errors.js'
import * as oneshot from '../../src/channels/oneshot.js'
import { connectionPair, tick, until, type ConnectionPair } from './helpers.js'

const gc = globalThis.gc

/** Collects garbage and lets finalizers and the frames they send run, until `condition` holds. */
async function collectUntil(what: string, condition: () => boolean): Promise<void> {
  for (let round = 0; round < 200 && !condition(); round++) {
    gc!()
    await tick(5)
  }
  if (!condition()) throw new Error(`still waiting for ${what} after 200 rounds of garbage collection`)
}

/** Records how a promise of a close reason settles, without holding anything but the answer. */
function watchReason(promise: Promise<ChannelCloseReason>): { readonly reason: ChannelCloseReason | undefined } {
  const seen: { reason: ChannelCloseReason | undefined } = { reason: undefined }
  void promise.then((reason) => (seen.reason = reason))
  return seen
}

describe('dropped channel endpoints', () => {
  let pair: ConnectionPair | undefined
  afterEach(async () => {
    await pair?.dispose()
    pair = undefined
  })

  it('global.gc is available to the unit tests (vitest.config.ts execArgv --expose-gc)', () => {
    expect(typeof gc).toBe('function')
  })

  describe.skipIf(!gc)('garbage-collected without close (needs --expose-gc)', () => {
    it('a remote receiver nobody holds any more: the sender learns "dropped" and both sessions release the stream', async () => {
      pair = await connectionPair()
      const { a, b } = pair
      const [tx, rx] = mpsc.channel<number>()
      // Everything that refers to the remote receiver lives in this function, and is gone after it.
      await (async () => {
        const remoteRx = await pair.transfer(rx)
        await tx.send(1)
        expect(await remoteRx.recv()).toBe(1)
      })()
      expect(a.session.streamCount).toBe(1)
      expect(b.session.streamCount).toBe(1)
      const gone = watchReason(tx.closed())
      await collectUntil('the sender to learn the receiver went', () => gone.reason !== undefined)
      expect(gone.reason).toBe('dropped')
      await until('both sessions to release the stream', () => a.session.streamCount === 0 && b.session.streamCount === 0)
      await expect(tx.send(2)).rejects.toMatchObject({ code: 'CHANNEL_CLOSED', reason: 'dropped' })
    })

    it('a remote sender nobody holds any more: the local receiver ends and says "dropped"', async () => {
      pair = await connectionPair()
      const { a, b } = pair
      const [tx, rx] = mpsc.channel<number>()
      await (async () => {
        const remoteTx = await pair.transfer(tx)
        await remoteTx.send(1)
      })()
      expect(await rx.recv()).toBe(1)
      let ended = false
      const end = rx.recv().then((value) => {
        ended = true
        return value
      })
      await collectUntil('the receiver to end', () => ended)
      expect(await end).toBeUndefined()
      expect(rx.senderGone).toBe('dropped')
      await until('both sessions to release the stream', () => a.session.streamCount === 0 && b.session.streamCount === 0)
    })

    it('a local sender clone nobody holds: the channel goes on while others live, and ends "dropped" with the last', async () => {
      const [tx, rx] = mpsc.channel<number>()
      ;(() => void tx.clone())()
      await tx.send(5)
      tx.close()
      expect(await rx.recv()).toBe(5)
      expect(rx.senderGone).toBeUndefined() // the clone still counts until it is collected
      await collectUntil('the clone to be collected', () => rx.senderGone !== undefined)
      expect(rx.senderGone).toBe('dropped')
      expect(await rx.recv()).toBeUndefined()
    })

    it('a remote oneshot receiver nobody holds: the sender learns "dropped"', async () => {
      pair = await connectionPair()
      const [tx, rx] = oneshot.channel<string>()
      await (async () => void (await pair.transfer(rx)))()
      const gone = watchReason(tx.closed())
      await collectUntil('the oneshot sender to learn the receiver went', () => gone.reason !== undefined)
      expect(gone.reason).toBe('dropped')
      await until('both sessions to release the stream', () => pair!.a.session.streamCount === 0 && pair!.b.session.streamCount === 0)
    })

    it('an endpoint still held is not dropped by a collection', async () => {
      pair = await connectionPair()
      const [tx, rx] = mpsc.channel<number>()
      const remoteRx = await pair.transfer(rx)
      const gone = watchReason(tx.closed())
      for (let round = 0; round < 5; round++) {
        gc!()
        await tick(5)
      }
      expect(gone.reason).toBeUndefined()
      await tx.send(3)
      expect(await remoteRx.recv()).toBe(3)
    })
  })

  describe('disposed (`using`) versus closed', () => {
    it('a remote receiver: `using` going out of scope says "dropped", close() says "closed"', async () => {
      pair = await connectionPair()
      const [tx, rx] = mpsc.channel<number>()
      {
        using remoteRx = await pair.transfer(rx)
        await tx.send(1)
        expect(await remoteRx.recv()).toBe(1)
      }
      expect(await tx.closed()).toBe('dropped')

      const [tx2, rx2] = mpsc.channel<number>()
      const remoteRx2 = await pair.transfer(rx2)
      remoteRx2.close()
      remoteRx2[Symbol.dispose]() // after close, disposing changes nothing
      expect(await tx2.closed()).toBe('closed')
      await until('both sessions to release the streams', () => pair!.a.session.streamCount === 0 && pair!.b.session.streamCount === 0)
    })

    it('a remote sender: `using` going out of scope says "dropped", close() says "closed"', async () => {
      pair = await connectionPair()
      const [tx, rx] = mpsc.channel<number>()
      {
        using remoteTx = await pair.transfer(tx)
        await remoteTx.send(1)
      }
      expect(await rx.recv()).toBe(1)
      expect(await rx.recv()).toBeUndefined()
      expect(rx.senderGone).toBe('dropped')

      const [tx2, rx2] = mpsc.channel<number>()
      const remoteTx2 = await pair.transfer(tx2)
      await remoteTx2.send(2)
      remoteTx2.close()
      remoteTx2[Symbol.dispose]()
      expect(await rx2.recv()).toBe(2)
      expect(await rx2.recv()).toBeUndefined()
      expect(rx2.senderGone).toBe('closed')
      await until('both sessions to release the streams', () => pair!.a.session.streamCount === 0 && pair!.b.session.streamCount === 0)
    })

    it('local halves: disposing says "dropped", closing says "closed"', async () => {
      const [tx, rx] = mpsc.channel<number>()
      rx[Symbol.dispose]()
      expect(await tx.closed()).toBe('dropped')
      const [tx2, rx2] = mpsc.channel<number>()
      rx2.close()
      expect(await tx2.closed()).toBe('closed')

      const [tx3, rx3] = mpsc.channel<number>()
      {
        using _sender = tx3
      }
      expect(await rx3.recv()).toBeUndefined()
      expect(rx3.senderGone).toBe('dropped')
      const [tx4, rx4] = mpsc.channel<number>()
      tx4.close()
      expect(await rx4.recv()).toBeUndefined()
      expect(rx4.senderGone).toBe('closed')
    })
  })
})
