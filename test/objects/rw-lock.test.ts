import { afterEach, describe, expect, it } from 'vitest'
import { objectCount } from '../../src/objects/limits.js'
import { rwLock, type RwLock } from '../../src/objects/rw-lock.js'
import { delay, peers, until, type Peers } from './helpers.js'

interface Doc {
  title: string
  edits: number
}

describe('read-write locks', () => {
  let net: Peers | undefined
  afterEach(async () => {
    await net?.dispose()
    net = undefined
  })

  it('two readers with open guards and a third peer writing: both are told, the write waits for them, then both see the new value', async () => {
    net = await peers(4) // 0 owns; 1 and 2 read; 3 writes
    const owner = rwLock<Doc>({ title: 'draft', edits: 0 })
    const [r1, r2, w] = await Promise.all([net.carry(0, 1, owner), net.carry(0, 2, owner), net.carry(0, 3, owner)])
    const g1 = await r1.read()
    const g2 = await r2.read()
    expect(g1.value).toEqual({ title: 'draft', edits: 0 })
    // Cached: a second read at the same reader needs no round trip and shares the lease.
    const again = await r1.read()
    again.release()

    let written = false
    const writing = w.write().then(async (guard) => {
      written = true
      guard.value = { title: 'final', edits: guard.value.edits + 1 }
      await guard.commit()
    })
    await until('both read guards were told', () => g1.signal.aborted && g2.signal.aborted)
    expect(g1.invalidated && g2.invalidated).toBe(true)
    await delay(30)
    expect(written).toBe(false) // the write waits while the guards are open
    g1.release()
    await delay(30)
    expect(written).toBe(false)
    g2.release()
    await writing
    expect(written).toBe(true)
    for (const reader of [r1, r2]) {
      const guard = await reader.read()
      expect(guard.value).toEqual({ title: 'final', edits: 1 })
      guard.release()
    }
    const local = await owner.read()
    expect(local.value).toEqual({ title: 'final', edits: 1 })
    local.release()
    for (const half of [r1, r2, w]) half.close()
    owner.close()
  })

  it('a write guard released without commit() changes nothing', async () => {
    net = await peers(2)
    const owner = rwLock({ n: 1 })
    const atB = await net.carry(0, 1, owner)
    const guard = await atB.write()
    guard.value = { n: 99 }
    guard.release()
    const read = await atB.read()
    expect(read.value).toEqual({ n: 1 })
    read.release()
    atB.close()
    owner.close()
  })

  it('a reader that never releases holds a writer up for leaseTimeoutMs at most', async () => {
    net = await peers(3)
    const owner = rwLock({ n: 1 }, { leaseTimeoutMs: 150 })
    const reader = await net.carry(0, 1, owner)
    const writer = await net.carry(0, 2, owner)
    const stubborn = await reader.read() // never released
    const guard = await writer.write()
    expect(stubborn.invalidated).toBe(true)
    guard.value = { n: 2 }
    await guard.commit()
    stubborn.release() // late: changes nothing
    const fresh = await reader.read()
    expect(fresh.value).toEqual({ n: 2 })
    fresh.release()
    reader.close()
    writer.close()
    owner.close()
  })

  it('a write guard held past its lease is revoked: commit fails with LOCK_LEASE_EXPIRED and the value stays', async () => {
    net = await peers(2)
    const owner = rwLock({ n: 1 }, { leaseTimeoutMs: 100 })
    const atB = await net.carry(0, 1, owner)
    const guard = await atB.write()
    await until('the lease expired', () => guard.signal.aborted)
    guard.value = { n: 5 }
    await expect(guard.commit()).rejects.toMatchObject({ code: 'LOCK_LEASE_EXPIRED' })
    const read = await owner.read()
    expect(read.value).toEqual({ n: 1 })
    read.release()
    atB.close()
    owner.close()
  })

  it('a peer holding a guard that disappears releases it; its pending requests settle with OBJECT_GONE', async () => {
    net = await peers(3)
    const owner = rwLock({ n: 1 }, { leaseTimeoutMs: 60_000 })
    const reader = await net.carry(0, 1, owner)
    const writer = await net.carry(0, 2, owner)
    const held = await reader.read()
    const granted = writer.write()
    await until('the reader was told', () => held.signal.aborted)
    const readerFails = expect(reader.write()).rejects.toMatchObject({ code: 'OBJECT_GONE' })
    await net.cut(0, 1) // the reader's peer vanishes with its guard open
    await readerFails
    const guard = await granted // long before the 60 s lease
    guard.value = { n: 2 }
    await guard.commit()
    held.release()
    writer.close()
    owner.close()
  })

  it('a half sent on to a third peer works through the one in between', async () => {
    net = await peers(3)
    const owner = rwLock({ n: 1 })
    const atB = await net.carry(0, 1, owner)
    const atC: RwLock<{ n: number }> = await net.carry(1, 2, atB)
    await expect(atB.read()).rejects.toMatchObject({ code: 'OBJECT_MOVED' })
    const guard = await atC.write()
    guard.value = { n: guard.value.n + 1 }
    await guard.commit()
    const read = await owner.read()
    expect(read.value).toEqual({ n: 2 })
    // The owner's write invalidates C's cached lease through B.
    const cached = await atC.read()
    read.release()
    const ownerWrite = owner.write()
    await until('C was told', () => cached.signal.aborted)
    cached.release()
    ;(await ownerWrite).release()
    atC.close()
    owner.close()
    await until('no object streams are left', () => objectCount(net!.connection(0, 1)) === 0 && objectCount(net!.connection(1, 2)) === 0)
  })

  it('waiters at the owner are bounded: one more is refused with OBJECT_LIMIT', async () => {
    net = await peers(2)
    const owner = rwLock({ n: 1 }, { maxWaiters: 1 })
    const atB = await net.carry(0, 1, owner)
    const mine = await owner.write() // holds the lock
    const waiting = atB.write() // one waiter
    await delay(20)
    await expect(atB.read()).rejects.toMatchObject({ code: 'OBJECT_LIMIT' })
    mine.release()
    ;(await waiting).release()
    atB.close()
    owner.close()
  })

  it('closing the owner fails the halves with OBJECT_GONE', async () => {
    net = await peers(2)
    const owner = rwLock(1)
    const atB = await net.carry(0, 1, owner)
    const hold = await owner.write()
    const pending = expect(atB.write()).rejects.toMatchObject({ code: 'OBJECT_GONE' })
    await delay(10)
    owner.close()
    await pending
    hold.release()
    atB.close()
  })
})
