/** A peer playing owner sends a mirror what no honest owner would: the mirror fails with a code, nothing throws. */
import { afterEach, describe, expect, it } from 'vitest'
import { encodeItem } from '../../../src/channels/items.js'
import type { ArraySubscription } from '../../../src/objects/collections/array.js'
import type { MapSubscription } from '../../../src/objects/collections/map.js'
import type { CollectionKind } from '../../../src/objects/collections/protocol.js'
import { connectionPair, hostilePort, until, type ConnectionPair } from '../../channels/helpers.js'

describe('observable collections: a hostile owner', () => {
  let pair: ConnectionPair
  afterEach(async () => pair?.dispose())

  /** A subscription of `kind` declaring `size` initial items, whose events the test writes. */
  async function forged<S>(kind: CollectionKind, size: number, events: unknown[]): Promise<S> {
    const { port, stream } = hostilePort(pair.a, { k: 'observable', o: { c: 16, t: kind, n: size } })
    const subscription = await pair.transfer(port as unknown as S)
    for (const event of events) await stream.send(encodeItem(pair.a, { ok: true, value: event }))
    return subscription
  }

  it('events for indexes that do not exist: MIRROR_BAD_INDEX', async () => {
    pair = await connectionPair()
    for (const change of [
      ['remove', 3],
      ['remove', 1],
      ['set', 1, 'x'],
      ['insert', 2, 'x'],
      ['splice', 1, 1, []],
      ['splice', 2, 0, ['x']],
    ]) {
      const mirror = (await forged<ArraySubscription<string>>('array', 2, [['init', ['a', 'b']], ['complete'], ['pop'], change])).mirror()
      await expect(mirror.whenDone()).rejects.toMatchObject({ code: 'MIRROR_BAD_INDEX' })
      expect(mirror.value).toEqual(['a']) // the changes before it were applied, the bad one not
    }
    for (const change of [['pop'], ['shift']]) {
      const mirror = (await forged<ArraySubscription<string>>('array', 0, [['complete'], change])).mirror()
      await expect(mirror.whenDone()).rejects.toMatchObject({ code: 'MIRROR_BAD_INDEX' })
    }
  })

  it('events after done, changes before complete, a second complete: MIRROR_BAD_EVENT', async () => {
    pair = await connectionPair()
    for (const events of [
      [['complete'], ['done'], ['set', 'k', 1]],
      [['complete'], ['done'], ['done']],
      [['set', 'k', 1]],
      [['complete'], ['complete']],
      [['done']],
      [['complete'], ['init', [['k', 1]]]],
    ]) {
      const mirror = (await forged<MapSubscription<string, number>>('map', 0, events)).mirror()
      await until('the mirror failed', () => mirror.error !== undefined)
      expect(mirror.error?.code).toBe('MIRROR_BAD_EVENT')
    }
  })

  it('initial contents larger than the mirror’s limit are refused before any is read; lying about their size too', async () => {
    pair = await connectionPair()
    const big = await forged<ArraySubscription<number>>('array', 11, [])
    const refused = big.mirror({ maxSize: 10 })
    expect(refused.error?.code).toBe('MIRROR_TOO_LARGE')
    await expect(refused.whenComplete()).rejects.toMatchObject({ code: 'MIRROR_TOO_LARGE' })
    // At the limit it is accepted.
    const atLimit = (await forged<ArraySubscription<number>>('array', 10, [['init', Array.from({ length: 10 }, (_, i) => i)], ['complete']])).mirror({
      maxSize: 10,
    })
    await atLimit.whenComplete()
    expect(atLimit.value.length).toBe(10)
    // Declares 2, sends 50: refused at the first item past what it declared.
    const liar = (await forged<ArraySubscription<number>>('array', 2, [['init', Array.from({ length: 50 }, (_, i) => i)]])).mirror({ maxSize: 10 })
    await expect(liar.whenComplete()).rejects.toMatchObject({ code: 'MIRROR_BAD_EVENT' })
    // Or sends fewer than declared.
    const short = (await forged<ArraySubscription<number>>('array', 3, [['init', [1]], ['complete']])).mirror()
    await expect(short.whenComplete()).rejects.toMatchObject({ code: 'MIRROR_BAD_EVENT' })
    // Grows past the limit with changes.
    const grows = (await forged<ArraySubscription<number>>('array', 0, [['complete'], ['push', [1, 2, 3]], ['push', [4, 5, 6]]])).mirror({ maxSize: 5 })
    await expect(grows.whenDone()).rejects.toMatchObject({ code: 'MIRROR_TOO_LARGE' })
    expect(grows.value).toEqual([1, 2, 3])
  })

  it('malformed events: MIRROR_BAD_EVENT; a malformed port: BAD_PORT', async () => {
    pair = await connectionPair()
    for (const event of [
      'not an array',
      [],
      [42],
      ['frobnicate'],
      ['set'],
      ['push', 'not an array'],
      ['insert', -1, 'x'],
      ['insert', 1.5, 'x'],
      ['init', 'x'],
      ['complete', 1],
    ]) {
      const mirror = (await forged<ArraySubscription<string>>('array', 0, [event])).mirror()
      await expect(mirror.whenComplete()).rejects.toMatchObject({ code: 'MIRROR_BAD_EVENT' })
    }
    const map = (await forged<MapSubscription<string, number>>('map', 1, [['init', [['only a key']]]])).mirror()
    await expect(map.whenComplete()).rejects.toMatchObject({ code: 'MIRROR_BAD_EVENT' })
    const malformed: Array<Record<string, string | number>> = [
      { c: 16, n: 0 },
      { c: 16, t: 'queue', n: 0 },
      { c: 16, t: 'map' },
      { c: 16, t: 'map', n: -1 },
      { c: 16, t: 'map', n: 'many' },
    ]
    for (const o of malformed) {
      const { port } = hostilePort(pair.a, { k: 'observable', o })
      await expect(pair.transfer(port)).rejects.toMatchObject({ code: 'BAD_PORT' })
    }
  })
})
