import { afterEach, describe, expect, it } from 'vitest'
import { rfn, type RemoteFunction } from '../../src/rpc/remote-function.js'
import type { CallContext } from '../../src/rpc/serve.js'
import { ID_B, delay, messagingPair, until, type MessagingPair, disposeChecked, held } from './helpers.js'

let carried = 0

/** Sends `value` from A to a fresh mailbox on B and returns what arrived there. */
async function carry<T>(peers: MessagingPair, value: T): Promise<T> {
  const name = `take-${carried++}`
  const arrived = peers.b.mailbox<T>(name)
  await peers.a.send(ID_B, name, value)
  const envelope = await arrived.receive()
  arrived.close()
  return envelope.value
}

/** Stops using a received function, as a test must before it ends (the leak check in afterEach). */
function release(remote: unknown): void {
  ;(remote as Disposable)[Symbol.dispose]()
}

describe('remote functions', () => {
  let peers: MessagingPair
  afterEach(() => disposeChecked(peers))

  it('a function inside a value arrives callable: x => -x gives -123 and -331', async () => {
    peers = await messagingPair()
    const { negate } = await carry(peers, { negate: (x: number) => -x })
    expect(await negate(123)).toBe(-123)
    expect(await negate(331)).toBe(-331)
    release(negate)
  })

  it('a serialised accumulator called with 3, 2, 11 at once gives 3, 5, 16', async () => {
    peers = await messagingPair()
    let total = 0
    const add = rfn.serial(async (n: number) => {
      const before = total
      await delay(n) // interleaving would lose updates if calls overlapped
      total = before + n
      return total
    })
    const remoteAdd = await carry(peers, add)
    expect(await Promise.all([remoteAdd(3), remoteAdd(2), remoteAdd(11)])).toEqual([3, 5, 16])
    release(remoteAdd)
  })

  it('a concurrency limit holds: never more than 2 calls run at once', async () => {
    peers = await messagingPair()
    let running = 0
    let most = 0
    const work = rfn(
      async () => {
        most = Math.max(most, ++running)
        await delay(10)
        running--
      },
      { concurrency: 2 },
    )
    const remoteWork = await carry(peers, work)
    await Promise.all(Array.from({ length: 7 }, () => remoteWork()))
    expect(most).toBe(2)
    release(remoteWork)
  })

  it('a once-function called twice fails the second time with ALREADY_CALLED', async () => {
    peers = await messagingPair()
    const remote = await carry(
      peers,
      rfn.once(() => 'first'),
    )
    expect(await remote()).toBe('first')
    await expect(remote()).rejects.toMatchObject({ code: 'ALREADY_CALLED' })
    release(remote)
  })

  it('after the providing peer is gone, calls reject with PEER_GONE', async () => {
    peers = await messagingPair()
    const remote = await carry(peers, () => 'here')
    const pending = (await carry(peers, () => new Promise(() => {})))()
    expect(await remote()).toBe('here')
    peers.pair.sever()
    await expect(pending).rejects.toMatchObject({ code: 'PEER_GONE' })
    await expect(remote()).rejects.toMatchObject({ code: 'PEER_GONE' })
  })

  it('withOptions cancels a call; a function asking for its context sees the abort', async () => {
    peers = await messagingPair()
    let abortedOnA = false
    const slow = rfn(
      async (_: number, context: CallContext) => {
        await new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve()))
        abortedOnA = true
      },
      { withContext: true },
    )
    const remote = (await carry(peers, slow)) as unknown as RemoteFunction<(n: number) => Promise<void>>
    await expect(remote.withOptions({ timeout: 20 })(1)).rejects.toMatchObject({ code: 'TIMEOUT' })
    await until('the abort on the providing side', () => abortedOnA)
    release(remote)
  })

  it('a disposed proxy releases the function on the providing side; errors travel as RemoteError', async () => {
    peers = await messagingPair()
    const remote = (await carry(peers, (n: number) => {
      if (n < 0) throw new RangeError('negative')
      return Math.sqrt(n)
    })) as unknown as RemoteFunction<(n: number) => number>
    expect(await remote(16)).toBe(4)
    await expect(remote(-1)).rejects.toMatchObject({ code: 'REMOTE_ERROR', remoteName: 'RangeError', message: 'negative' })
    await until("only the function's lifetime stream is left", () => held(peers.connections.a) === 1)
    remote[Symbol.dispose]()
    await until('the function released', () => held(peers.connections.a) === 0 && held(peers.connections.b) === 0)
    await expect(remote(4)).rejects.toMatchObject({ code: 'PEER_GONE' })
  })
})
