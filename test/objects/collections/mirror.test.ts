import { afterEach, describe, expect, it } from 'vitest'
import { ObservableArray } from '../../../src/objects/collections/array.js'
import { ObservableList, type ListSubscription } from '../../../src/objects/collections/list.js'
import { ObservableMap, type MapSubscription } from '../../../src/objects/collections/map.js'
import type { ArrayChange, MapChange } from '../../../src/objects/collections/protocol.js'
import { ObservableSet } from '../../../src/objects/collections/set.js'
import { connectionPair, until, type ConnectionPair } from '../../channels/helpers.js'

describe('observable collections mirrored on another peer', () => {
  let pair: ConnectionPair
  afterEach(async () => pair?.dispose())

  it('499 inserts mirrored remotely equal the owner’s map after done()', async () => {
    pair = await connectionPair()
    const owner = new ObservableMap<string, number>()
    const mirror = (await pair.transfer({ subscription: owner.subscribe() })).subscription.mirror()
    await mirror.whenComplete()
    for (let i = 0; i < 499; i++) owner.set(`key ${i}`, i)
    owner.delete('key 7')
    owner.set('key 8', -8)
    owner.done()
    await mirror.whenDone()
    expect(mirror.done).toBe(true)
    expect(mirror.error).toBeUndefined()
    expect(new Map(mirror.value)).toEqual(new Map(owner.value))
    expect(mirror.value.size).toBe(498)
    expect(() => owner.set('late', 1)).toThrow(expect.objectContaining({ code: 'COLLECTION_DONE' }))
    expect(() => owner.clear()).toThrow(expect.objectContaining({ code: 'COLLECTION_DONE' }))
  })

  it('initial contents arrive in chunks before complete; a subscription made after done() gets them and done', async () => {
    pair = await connectionPair()
    const owner = new ObservableMap<number, string>(Array.from({ length: 1000 }, (_, i) => [i, `v${i}`]))
    const mirror = (await pair.transfer(owner.subscribe())).mirror()
    expect(mirror.complete).toBe(false)
    await mirror.whenComplete()
    expect(mirror.value.size).toBe(1000)
    owner.done()
    const late = (await pair.transfer(owner.subscribe())).mirror()
    await late.whenDone()
    expect(new Map(late.value)).toEqual(new Map(owner.value))
    expect(late.complete).toBe(true)
  })

  it('set, array and list: every change kind arrives; the mirrors equal their owners after done()', async () => {
    pair = await connectionPair()
    const set = new ObservableSet<string>(['a', 'b'])
    const array = new ObservableArray<number>([1, 2, 3])
    const list = new ObservableList<string>(['first'])
    const sent = await pair.transfer({ set: set.subscribe(), array: array.subscribe(), list: list.subscribe() })
    const mirrors = { set: sent.set.mirror(), array: sent.array.mirror(), list: sent.list.mirror() }
    set.add('c').add('a')
    set.delete('b')
    set.clear()
    set.add('after clear')
    array.push(4, 5)
    array.pop()
    array.shift()
    array.unshift(0, 1)
    array.set(2, 20)
    array.insert(1, 10)
    array.remove(0)
    expect(array.splice(-2, 1, 7, 8, 9)).toEqual([3])
    array.splice(1, 0)
    list.push('second', 'third')
    list.push('fourth')
    for (const owner of [set, array, list]) owner.done()
    await Promise.all(Object.values(mirrors).map((mirror) => mirror.whenDone()))
    expect([...mirrors.set.value]).toEqual([...set.value])
    expect(mirrors.array.value).toEqual(array.value)
    expect(array.value).toEqual([10, 1, 20, 7, 8, 9, 4])
    expect(mirrors.list.value).toEqual(['first', 'second', 'third', 'fourth'])
    expect(() => array.push(1)).toThrow(expect.objectContaining({ code: 'COLLECTION_DONE' }))
    expect(() => list.push('x')).toThrow(expect.objectContaining({ code: 'COLLECTION_DONE' }))
    expect(() => set.add('x')).toThrow(expect.objectContaining({ code: 'COLLECTION_DONE' }))
  })

  it('a late subscriber to a list gets its history, then the new items', async () => {
    pair = await connectionPair()
    const log = new ObservableList<{ from: string; text: string }>()
    for (let i = 0; i < 300; i++) log.push({ from: 'a', text: `message ${i}` })
    const mirror = (await pair.transfer(log.subscribe() as ListSubscription<{ from: string; text: string }>)).mirror()
    log.push({ from: 'b', text: 'hello late tab' })
    await until('the late mirror has every item', () => mirror.value.length === 301)
    expect(mirror.value).toEqual(log.value)
  })

  it('changed() resolves at each change; the async iterator yields the changes and ends at done', async () => {
    pair = await connectionPair()
    const owner = new ObservableMap<string, number>([['x', 1]])
    const mirror = (await pair.transfer(owner.subscribe() as MapSubscription<string, number>)).mirror()
    await mirror.whenComplete()
    const seen: MapChange<string, number>[] = []
    const reading = (async () => {
      for await (const change of mirror) seen.push(change)
    })()
    const changed = mirror.changed()
    owner.set('y', 2)
    await changed
    expect(mirror.value.get('y')).toBe(2)
    owner.delete('x')
    owner.clear()
    owner.done()
    await reading
    expect(seen).toEqual([{ type: 'set', key: 'y', value: 2 }, { type: 'delete', key: 'x' }, { type: 'clear' }])
    await expect(mirror.changed()).resolves.toBeUndefined()
    expect(mirror.borrow().size).toBe(0)
  })

  it('a for-await loop more than eventBuffer changes behind ends with CHANNEL_LAGGED; the mirror goes on', async () => {
    const owner = new ObservableList<number>()
    const mirror = owner.subscribe().mirror({ eventBuffer: 2 })
    await mirror.whenComplete()
    const changes = mirror[Symbol.asyncIterator]()
    const first = changes.next() // registers the loop
    for (let i = 0; i < 5; i++) owner.push(i)
    await until('the mirror has every item', () => mirror.value.length === 5)
    expect(await first).toEqual({ done: false, value: { type: 'push', values: [0] } })
    await expect(changes.next()).rejects.toMatchObject({ code: 'CHANNEL_LAGGED' })
    expect(mirror.error).toBeUndefined()
    owner.done()
    await mirror.whenDone()
  })

  it('an array mirrored in the same process works without a connection', async () => {
    const owner = new ObservableArray<string>(['a'])
    const mirror = owner.subscribe().mirror()
    const changes: ArrayChange<string>[] = []
    const reading = (async () => {
      for await (const change of mirror) changes.push(change)
    })()
    await mirror.whenComplete()
    owner.push('b')
    owner.done()
    await reading
    expect(mirror.value).toEqual(['a', 'b'])
    expect(changes).toEqual([{ type: 'push', values: ['b'] }])
  })
})
