import { afterEach, describe, expect, it } from 'vitest'
import { ObservableList } from '../../../src/objects/collections/list.js'
import { ObservableMap } from '../../../src/objects/collections/map.js'
import { connectionPair, tick, until, type ConnectionPair } from '../../channels/helpers.js'

describe('observable collections: shedding, owners going away, subscribers leaving', () => {
  let pair: ConnectionPair
  afterEach(async () => pair?.dispose())

  it('a subscriber that falls behind its buffer is shed with CHANNEL_LAGGED, the owner unslowed; it can subscribe again', async () => {
    pair = await connectionPair()
    const owner = new ObservableMap<number, number>()
    const slow = (await pair.transfer(owner.subscribe({ buffer: 4 }))).mirror()
    const roomy = (await pair.transfer(owner.subscribe({ buffer: 1000 }))).mirror()
    await Promise.all([slow.whenComplete(), roomy.whenComplete()])
    // A burst in one turn: nothing can be sent before it ends, so more than 4 changes wait.
    for (let i = 0; i < 100; i++) owner.set(i, i)
    expect(owner.subscriberCount).toBe(1)
    await expect(slow.whenDone()).rejects.toMatchObject({ code: 'CHANNEL_LAGGED' })
    expect(slow.error?.code).toBe('CHANNEL_LAGGED')
    await expect(slow.changed()).rejects.toMatchObject({ code: 'CHANNEL_LAGGED' })
    await until('the roomy mirror has every change', () => roomy.value.size === 100)

    const again = (await pair.transfer(owner.subscribe({ buffer: 4 }))).mirror()
    await again.whenComplete()
    expect(new Map(again.value)).toEqual(new Map(owner.value))
    owner.done()
    await Promise.all([again.whenDone(), roomy.whenDone()])
  })

  it('shed while its initial contents are still being sent: the rest is not sent, the mirror fails with CHANNEL_LAGGED', async () => {
    // In this process, so nothing is read before mirror(): the channel holds 16 chunks and the feed waits.
    const owner = new ObservableList<number>(Array.from({ length: 5000 }, (_, i) => i))
    const subscription = owner.subscribe({ buffer: 2 })
    for (let i = 0; i < 3; i++) owner.push(i)
    expect(owner.subscriberCount).toBe(0)
    const mirror = subscription.mirror()
    await expect(mirror.whenComplete()).rejects.toMatchObject({ code: 'CHANNEL_LAGGED' })
    expect(mirror.value.length).toBeLessThan(5000)
  })

  it('a subscriber whose peer stops reading is shed over time: the owner holds at most its buffer', async () => {
    pair = await connectionPair()
    const owner = new ObservableList<string>()
    const stalled = await pair.transfer(owner.subscribe({ buffer: 32 })) // never mirrored, never read
    const value = 'x'.repeat(1000)
    for (let i = 0; i < 2000 && owner.subscriberCount > 0; i++) {
      owner.push(value)
      if (i % 10 === 0) await tick()
    }
    expect(owner.subscriberCount).toBe(0)
    const mirror = stalled.mirror()
    await expect(mirror.whenDone()).rejects.toMatchObject({ code: 'CHANNEL_LAGGED' })
  })

  it('a subscriber’s buffer is bounded: 0 and 65537 are refused, 1 and 65536 accepted', () => {
    const owner = new ObservableList<number>()
    for (const buffer of [0, 65537, 1.5]) expect(() => owner.subscribe({ buffer })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    for (const buffer of [1, 65536]) owner.subscribe({ buffer }).close()
  })

  it('an owner that goes away without done(): close(), or its peer disconnecting, fails the mirror with CHANNEL_CLOSED', async () => {
    pair = await connectionPair()
    const owner = new ObservableList<number>([1, 2])
    const mirror = (await pair.transfer(owner.subscribe())).mirror()
    await mirror.whenComplete()
    owner.push(3)
    owner.close()
    await expect(mirror.whenDone()).rejects.toMatchObject({ code: 'CHANNEL_CLOSED' })
    expect(mirror.value).toEqual([1, 2, 3]) // nothing queued before the close was lost
    expect(() => owner.push(4)).toThrow(expect.objectContaining({ code: 'COLLECTION_DONE' }))

    const other = new ObservableMap<string, string>([['k', 'v']])
    const remote = (await pair.transfer(other.subscribe())).mirror()
    await remote.whenComplete()
    const changed = remote.changed()
    await pair.dispose()
    await expect(remote.whenDone()).rejects.toMatchObject({ code: 'CHANNEL_CLOSED' })
    await expect(changed).rejects.toMatchObject({ code: 'CHANNEL_CLOSED' })
    expect(remote.value.get('k')).toBe('v')
  })

  it('an owner garbage-collected without done() or close() fails its mirrors with CHANNEL_CLOSED', async () => {
    pair = await connectionPair()
    const gc = (globalThis as { gc?: () => void }).gc
    expect(gc).toBeTypeOf('function') // vitest runs with --expose-gc
    const mirror = await (async () => {
      const owner = new ObservableMap<string, number>([['kept', 1]])
      return (await pair.transfer(owner.subscribe())).mirror()
    })()
    await mirror.whenComplete()
    await until('the dropped owner to end its mirror', () => {
      gc!()
      return mirror.error !== undefined
    })
    expect(mirror.error?.code).toBe('CHANNEL_CLOSED')
    expect(mirror.value.get('kept')).toBe(1)
  })

  it('a mirror that closes, or a subscription closed unmirrored, is forgotten by the owner', async () => {
    pair = await connectionPair()
    const owner = new ObservableMap<string, number>()
    const mirror = (await pair.transfer(owner.subscribe())).mirror()
    const unused = await pair.transfer(owner.subscribe())
    await mirror.whenComplete()
    expect(owner.subscriberCount).toBe(2)
    mirror.close()
    unused.close()
    await until('the owner forgot both', () => owner.subscriberCount === 0)
    expect(mirror.error?.code).toBe('CHANNEL_CLOSED')
    owner.set('still', 1) // nobody to send to; nothing waits
  })

  it('a subscription moves when sent: mirroring it here afterwards fails with CHANNEL_MOVED; a second mirror() is refused', async () => {
    pair = await connectionPair()
    const owner = new ObservableList<string>(['x'])
    const subscription = owner.subscribe()
    const there = await pair.transfer(subscription)
    expect(() => subscription.mirror()).toThrow(expect.objectContaining({ code: 'CHANNEL_MOVED' }))
    // Sent on again (a third peer would do the same), then mirrored.
    const back = await pair.transferBack(there)
    const mirror = back.mirror()
    expect(() => back.mirror()).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    await mirror.whenComplete()
    expect(mirror.value).toEqual(['x'])
  })
})
