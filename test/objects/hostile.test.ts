/**
 * Peers that break the objects' protocols: each is refused with a code, and the honest side goes on.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Connection } from '../../src/channels/connection.js'
import { ENCODE_PORT, type Portable } from '../../src/channels/port.js'
import type { MuxStream } from '../../src/mux/stream.js'
import { lazyBlob } from '../../src/objects/lazy-blob.js'
import { objectCount } from '../../src/objects/limits.js'
import { rwLock } from '../../src/objects/rw-lock.js'
import type { Lazy } from '../../src/objects/lazy.js'
import { delay, peers, until, type Peers } from './helpers.js'

/** A port of `kind` whose stream the test drives by hand (playing the providing peer). */
function handDriven(connection: Connection, kind: string, options?: Record<string, number>): { port: Portable; stream: MuxStream } {
  const stream = connection.openPortStream()
  class HandDriven implements Portable {
    [ENCODE_PORT]() {
      return { payload: { k: kind, s: stream.id, ...(options ? { o: options } : {}) }, activate() {}, rollback() {} }
    }
  }
  return { port: new HandDriven(), stream }
}

/** Plays a peer that received an object's port: claims its stream raw instead of decoding it. */
function claimRaw(from: Connection, to: Connection, object: unknown): MuxStream {
  const plan = (object as Portable)[ENCODE_PORT](from, 'value')
  plan.activate()
  return to.claimPortStream(plan.payload.s)
}

describe('hostile peers and remote objects', () => {
  let net: Peers | undefined
  afterEach(async () => {
    await net?.dispose()
    net = undefined
  })

  it('a lazy provider answering with a malformed message fails get() with BAD_PORT', async () => {
    net = await peers(2)
    const a = net.connection(0, 1)
    const { port, stream } = handDriven(a, 'lazy')
    const atB = (await net.carry(0, 1, port)) as Lazy<number>
    const answered = (async () => {
      await stream.receive() // the fetch
      await stream.send(a.encode([7, 'not a lazy answer']))
      stream.close()
      await stream.receive().catch(() => null)
    })()
    await expect(atB.get()).rejects.toMatchObject({ code: 'BAD_PORT' })
    await answered
    atB.close()
  })

  it('a blob holder that fetches without a bytes channel has its stream reset; the provider goes on', async () => {
    net = await peers(2)
    const data = new Uint8Array(1000).fill(1)
    const blob = lazyBlob(data)
    const raw = claimRaw(net.connection(0, 1), net.connection(1, 0), blob)
    const b = net.connection(1, 0)
    await raw.send(b.encode([0, 'no channel here']))
    await expect(raw.receive()).rejects.toMatchObject({ code: 'STREAM_RESET' })
    // The same blob still serves an honest peer.
    const honest = await net.carry(0, 1, blob)
    expect((await honest.get()).byteLength).toBe(1000)
    honest.close()
    blob.close()
  })

  it('a blob announcing a size that is not an integer is refused with BAD_PORT', async () => {
    net = await peers(2)
    const { port } = handDriven(net.connection(0, 1), 'blob', { n: -1 })
    await expect(net.carry(0, 1, port)).rejects.toMatchObject({ code: 'BAD_PORT' })
  })

  it('a lock half sending garbage is cut off; an answer for a lease it does not hold changes nothing', async () => {
    net = await peers(3)
    const owner = rwLock({ n: 1 }, { leaseTimeoutMs: 60_000 })
    const b = net.connection(1, 0)
    const raw = claimRaw(net.connection(0, 1), b, owner)
    const honest = await net.carry(0, 2, owner)
    const guard = await honest.read()
    // A forged "released" for a lease id it never held, then a read: the owner leases it the value.
    await raw.send(b.encode([4, 12345]))
    await raw.send(b.encode([0]))
    const leased = b.decode((await raw.receive())!) as [number, unknown, number]
    expect(leased[0]).toBe(0)
    // The honest reader's lease was not released by the forgery: a write still waits for it.
    let granted = false
    const writing = owner.write().then((write) => {
      granted = true
      return write
    })
    await until('the honest guard was told', () => guard.signal.aborted)
    await delay(30)
    expect(granted).toBe(false)
    // Now garbage: the owner resets the hostile half's stream and drops its lease.
    await raw.send(b.encode(['bogus', 1, 2]))
    await until('the hostile half was cut off', () => raw.isReleased)
    guard.release()
    ;(await writing).release()
    honest.close()
    owner.close()
    await until('no object streams are left', () => objectCount(net!.connection(0, 1)) === 0)
  })

  it('a lock owner sending garbage fails the half with OBJECT_GONE', async () => {
    net = await peers(2)
    const a = net.connection(0, 1)
    const { port, stream } = handDriven(a, 'rwlock')
    const atB = await net.carry(0, 1, port as unknown as ReturnType<typeof rwLock<number>>)
    const failing = expect(atB.read()).rejects.toMatchObject({ code: 'OBJECT_GONE' })
    await stream.receive() // the read request
    await stream.send(a.encode([0, 'value without a lease']))
    await failing
    await stream.receive().catch(() => null)
    atB.close()
  })
})
