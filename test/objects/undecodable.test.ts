/**
 * A value carrying remote objects that the receiving side cannot decode: the objects' streams are
 * reset on both sides, the creator's bookkeeping is released, and nothing waits for the port streams'
 * unclaimed timeout.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Connection } from '../../src/channels/connection.js'
import * as mpsc from '../../src/channels/mpsc.js'
import { ENCODE_PORT, type Portable } from '../../src/channels/port.js'
import { ObservableMap } from '../../src/objects/collections/map.js'
import { handle } from '../../src/objects/handle.js'
import { lazy } from '../../src/objects/lazy.js'
import { lazyBlob } from '../../src/objects/lazy-blob.js'
import { objectCount } from '../../src/objects/limits.js'
import { rwLock } from '../../src/objects/rw-lock.js'
import { peers, until, type Peers } from './helpers.js'

/** One of each object kind, and how to tell the creator let go of what it sent. */
function everyKind() {
  let released = 0
  const owned = { n: 1 }
  const map = new ObservableMap<string, number>([['a', 1]])
  const lock = rwLock({ n: 1 }, { leaseTimeoutMs: 60_000 })
  const objects = {
    h: handle(owned, { onRelease: () => released++ }),
    l: lazy(42),
    b: lazyBlob(new Uint8Array(5000).fill(7)),
    w: lock,
    s: map.subscribe(),
  }
  return { objects, map, lock, released: () => released }
}

/** A port whose payload the receiver refuses (a blob announcing a negative size) with BAD_PORT. */
function malformedPort(connection: Connection): Portable {
  class Malformed implements Portable {
    [ENCODE_PORT]() {
      const stream = connection.openPortStream()
      return { payload: { k: 'blob', s: stream.id, o: { n: -1 } }, activate() {}, rollback: () => stream.reset('closed', 'rolled back') }
    }
  }
  return new Malformed()
}

describe('remote objects inside a value the receiver cannot decode', () => {
  let net: Peers | undefined
  afterEach(async () => {
    await net?.dispose()
    net = undefined
  })

  async function expectReleased(net: Peers, sent: ReturnType<typeof everyKind>, objectsBefore: number): Promise<void> {
    const a = net.connection(0, 1)
    const b = net.connection(1, 0)
    // No waiting for the unclaimed-stream timeout (30 s here): the receiver resets them at once.
    await until('the handle is released at its creator', () => sent.released() === 1, 3_000)
    await until('the subscription is forgotten by its owner', () => sent.map.subscriberCount === 0, 3_000)
    await until('the objects are no longer counted on either side', () => objectCount(a) === objectsBefore && objectCount(b) === 0, 3_000)
    // (The call stream that carried the value lives as long as the session.)
    const streams = (connection: typeof a) => connection.session.stats().streams - connection.session.streamCountOf('calls')
    await until('no stream is left open on either side', () => streams(a) === 0 && streams(b) === 0, 3_000)
    // The lock's owner holds no lease for the half that never arrived: a write goes through at once.
    const guard = await sent.lock.write()
    guard.value.n = 2
    await guard.commit()
    guard.release()
    sent.lock.close()
    sent.map.done()
  }

  it('a value over the receiver’s string limit: refused with the codec’s code, every object released at once', async () => {
    net = await peers(2, (i) => (i === 1 ? { codecLimits: { maxStringBytes: 1024 } } : {}))
    const before = objectCount(net.connection(0, 1))
    const sent = everyKind()
    await expect(net.carry(0, 1, { ...sent.objects, big: 'x'.repeat(4096) })).rejects.toMatchObject({ code: 'CODEC_TOO_LARGE' })
    await expectReleased(net, sent, before)
  })

  it('a malformed port after the objects: refused with BAD_PORT, the objects rebuilt before it are released', async () => {
    net = await peers(2)
    const before = objectCount(net.connection(0, 1))
    const sent = everyKind()
    await expect(net.carry(0, 1, { ...sent.objects, z: malformedPort(net.connection(0, 1)) })).rejects.toMatchObject({ code: 'BAD_PORT' })
    await expectReleased(net, sent, before)
  })

  it('a channel receiver in such a value: the sender’s pending sends settle with CHANNEL_CLOSED', async () => {
    net = await peers(2, (i) => (i === 1 ? { codecLimits: { maxStringBytes: 1024 } } : {}))
    const [tx, rx] = mpsc.channel<number>()
    await expect(net.carry(0, 1, { rx, big: 'x'.repeat(4096) })).rejects.toMatchObject({ code: 'CODEC_TOO_LARGE' })
    await expect(
      (async () => {
        for (;;) await tx.send(1)
      })(),
    ).rejects.toMatchObject({ code: 'CHANNEL_CLOSED' })
  })

  it('the unclaimed-stream timeout (lowered) resets the port streams of a value that never arrived; the objects react', async () => {
    net = await peers(2, () => ({ muxConfig: { unclaimedStreamTimeoutMs: 200 } }))
    const a = net.connection(0, 1)
    const before = objectCount(a)
    const sent = everyKind()
    // Encoded and its ports opened here, but the value itself is never sent: only the timeout frees them.
    a.encode(sent.objects)
    await expectReleased(net, sent, before)
  })
})
