/**
 * Read-write locks (remoc's `robj::rw_lock`): the value lives at its owner; `rwLock(value)` gives
 * the owner's half, and every half sent to another peer (inside any value) can `read()` — the value
 * is then cached there until invalidated, so reads after the first cost no round trip — and
 * `write()`: the owner invalidates every read lease (their guards are told through `signal`), waits
 * until they are released, hands the value to the writer and takes the committed value back. A write
 * guard released without `commit()` changes nothing.
 *
 * Unlike remoc's, this lock does not trust its peers: read and write guards are leases the owner
 * times out (`leaseTimeoutMs`, rw-lock-owner.ts), and a half whose peer disappears releases what it
 * held. Sending the owner's half gives the receiver a new half; sending a received half moves it (it
 * must hold no guard), and the peer in between relays its messages.
 */
import type { Connection } from '../channels/connection.js'
import { ENCODE_PORT, type PortDecoder, type PortPlan } from '../channels/port.js'
import { MeshscopeError } from '../errors.js'
import { ObjectStream, objectGone } from './object-stream.js'
import { LockHalf, type ReadGuard, type WriteGuard } from './rw-lock-half.js'
import { RwLockCore, type RwLockOptions } from './rw-lock-owner.js'
import { parseToHalf, parseToOwner, type ToHalf, type ToOwner } from './rw-lock-protocol.js'

/** A received half's stream to its owner (or to the peer that relays for it). */
interface Upstream {
  stream: ObjectStream
  /** Set once the half was sent on: the owner's messages go there instead. */
  relay?: ObjectStream
}

const drops = new FinalizationRegistry<ObjectStream>((stream) => stream.end())

/** A lock owning `value`: this is the owner's half; send it to give other peers halves of their own. */
export function rwLock<T>(value: T, options: RwLockOptions = {}): RwLock<T> {
  const core = new RwLockCore(value, options)
  const half = new LockHalf<T>((message) => queueMicrotask(() => core.receive(attached, message)))
  const attached = core.attach((message) => queueMicrotask(() => half.receive(message)))
  return new RwLock<T>(half, { core, streams: new Set() })
}

export class RwLock<T> {
  #half: LockHalf<T>
  #owner?: { core: RwLockCore<T>; streams: Set<ObjectStream> }
  #upstream?: Upstream
  #state: 'open' | 'moved' | 'closed' = 'open'

  /** @internal use `rwLock(value)` */
  constructor(half: LockHalf<T>, owner?: { core: RwLockCore<T>; streams: Set<ObjectStream> }, upstream?: Upstream) {
    this.#half = half
    this.#owner = owner
    this.#upstream = upstream
    if (upstream) drops.register(this, upstream.stream, this)
  }

  /** Whether this is the owner's half. */
  get isOwner(): boolean {
    return this.#owner !== undefined
  }

  /**
   * A read guard on the value, cached here until the owner invalidates it. Rejects with
   * OBJECT_LIMIT (too many waiting at the owner), OBJECT_GONE (the owner went away), OBJECT_MOVED.
   */
  async read(): Promise<ReadGuard<T>> {
    this.#check()
    return this.#half.read()
  }

  /**
   * A write guard, once every read guard anywhere was released (or timed out) — this half's own too:
   * release them before writing, or the write waits `leaseTimeoutMs` for them. Writes from this half
   * are taken one at a time. Rejects as `read`.
   */
  async write(): Promise<WriteGuard<T>> {
    this.#check()
    return this.#half.write()
  }

  /** Stops using this half; at the owner, ends every half (their pending requests fail with OBJECT_GONE). */
  close(): void {
    if (this.#state !== 'open') return
    this.#state = 'closed'
    this.#half.fail(new MeshscopeError('OBJECT_GONE', 'this lock half was closed'))
    if (this.#owner) {
      this.#owner.core.close()
      for (const stream of this.#owner.streams) stream.end()
    }
    if (this.#upstream) {
      drops.unregister(this)
      this.#upstream.stream.end()
    }
  }

  [Symbol.dispose](): void {
    this.close()
  }

  #check(): void {
    if (this.#state === 'moved') throw new MeshscopeError('OBJECT_MOVED', 'this lock half was sent to another peer')
    if (this.#state === 'closed') throw new MeshscopeError('OBJECT_GONE', 'this lock half was closed')
  }

  [ENCODE_PORT](connection: Connection): PortPlan {
    this.#check()
    if (!this.#owner && this.#half.busy) throw new MeshscopeError('INVALID_ARGUMENT', 'release its guards before sending a lock half on')
    const stream = ObjectStream.open(connection)
    const owner = this.#owner
    const upstream = this.#upstream
    return {
      payload: { k: 'rwlock', s: stream.id },
      activate: () => {
        if (owner) return serveHalf(owner.core, owner.streams, stream)
        if (!upstream) return
        this.#state = 'moved'
        drops.unregister(this)
        upstream.relay = stream
        void relayToOwner(stream, upstream.stream)
      },
      rollback: () => stream.reset('the value carrying this lock half failed to encode'),
    }
  }
}

/** Owner side: one attached half per stream, until the stream ends. */
function serveHalf<T>(core: RwLockCore<T>, streams: Set<ObjectStream>, stream: ObjectStream): void {
  streams.add(stream)
  const attached = core.attach((message) => void stream.send(message).catch(() => {}))
  void (async () => {
    try {
      for (let message = await stream.receive(); message !== null; message = await stream.receive()) core.receive(attached, parseToOwner(message))
    } catch (error) {
      if (error instanceof MeshscopeError && error.code === 'BAD_PORT') stream.reset(error.message)
    } finally {
      core.detach(attached)
      streams.delete(stream)
      stream.end()
    }
  })()
}

/** A moved half's peer: what the new holder sends goes on to the owner. */
async function relayToOwner(downstream: ObjectStream, upstream: ObjectStream): Promise<void> {
  try {
    for (let message = await downstream.receive(); message !== null; message = await downstream.receive()) await upstream.send(parseToOwner(message))
  } catch {
    // The holder went away or broke the protocol; ending the upstream releases what it held.
  } finally {
    downstream.end()
    upstream.end()
  }
}

/** Receiving side: a half talking to the owner over the stream (or relaying, once sent on). */
export const decodeRwLockPort: PortDecoder = (connection, payload) => {
  const stream = ObjectStream.claim(connection, payload.s)
  const upstream: Upstream = { stream }
  const half = new LockHalf<unknown>((message: ToOwner) => {
    stream.send(message).catch((error) => half.fail(objectGone('lock', error)))
  })
  void (async () => {
    try {
      for (let message = await stream.receive(); message !== null; message = await stream.receive()) {
        const parsed: ToHalf = parseToHalf(message)
        if (upstream.relay) await upstream.relay.send(parsed).catch(() => {})
        else half.receive(parsed)
      }
      half.fail(objectGone('lock'))
    } catch (error) {
      if (error instanceof MeshscopeError && error.code === 'BAD_PORT') stream.reset(error.message)
      half.fail(objectGone('lock', error))
    } finally {
      upstream.relay?.end()
      stream.end()
    }
  })()
  return new RwLock<unknown>(half, undefined, upstream)
}

export type { ReadGuard, WriteGuard } from './rw-lock-half.js'
export type { RwLockOptions } from './rw-lock-owner.js'
