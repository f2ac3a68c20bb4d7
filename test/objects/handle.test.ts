import { afterEach, describe, expect, it } from 'vitest'
import { ENCODE_PORT, type Portable } from '../../src/channels/port.js'
import { Handle, handle } from '../../src/objects/handle.js'
import { configureObjects, objectCount } from '../../src/objects/limits.js'
import { collectGarbage, peers, until, type Peers } from './helpers.js'

class Account {
  constructor(readonly owner: string) {}
}

/** A port whose payload a hostile peer writes itself (a forged handle id). */
function forgedHandle(id: string): Portable {
  class Forged implements Portable {
    [ENCODE_PORT](connection: Parameters<Portable[typeof ENCODE_PORT]>[0]) {
      const stream = connection.openPortStream()
      return { payload: { k: 'handle', s: stream.id, v: id, o: { t: 'Account' } }, activate: () => stream.close(), rollback() {} }
    }
  }
  return new Forged()
}

describe('handles', () => {
  let net: Peers | undefined
  afterEach(async () => {
    await net?.dispose()
    net = undefined
  })

  it('resolves to the original object at its creator, and only there', async () => {
    net = await peers(2)
    const account = new Account('ada')
    const h = handle(account)
    expect(h.get()).toBe(account)
    const atB = await net.carry(0, 1, { h })
    expect(() => h.get()).toThrow(expect.objectContaining({ code: 'OBJECT_MOVED' }))
    expect(atB.h.isLocal).toBe(false)
    expect(atB.h.kind).toBe('Account')
    expect(() => atB.h.get()).toThrow(expect.objectContaining({ code: 'HANDLE_NOT_LOCAL' }))
    const back = await net.carry(1, 0, atB.h)
    expect(back.get()).toBe(account)
    expect(back.get(Account)).toBe(account)
    expect(back.get('Account')).toBe(account)
    back.close()
  })

  it('asking for the wrong kind fails with HANDLE_WRONG_KIND', () => {
    const h = handle(new Account('bo'), { kind: 'account' })
    expect(() => h.get('order')).toThrow(expect.objectContaining({ code: 'HANDLE_WRONG_KIND' }))
    expect(() => h.get(Map)).toThrow(expect.objectContaining({ code: 'HANDLE_WRONG_KIND' }))
    expect(h.get('account').owner).toBe('bo')
    h.close()
  })

  it('travels on to a third peer and back home from there', async () => {
    net = await peers(3)
    const account = new Account('cy')
    let released = 0
    const h = handle(account, { onRelease: () => released++ })
    const atB = await net.carry(0, 1, h)
    const atC = await net.carry(1, 2, atB)
    expect(() => atC.get()).toThrow(expect.objectContaining({ code: 'HANDLE_NOT_LOCAL' }))
    const home = await net.carry(2, 0, atC)
    expect(home.get()).toBe(account)
    expect(released).toBe(0)
    home.close()
    await until('the last handle let go', () => released === 1)
  })

  it('the creator keeps the object while a handle exists anywhere, and lets go on the last close', async () => {
    net = await peers(3)
    let released = 0
    const h = handle({ n: 1 }, { onRelease: () => released++ })
    const keep = h.clone()
    const atB = await net.carry(0, 1, h)
    const atBtoo = atB.clone()
    const atC = await net.carry(1, 2, atB) // B's copy moved on: C's now holds B's upstream
    keep.close()
    atBtoo.close()
    await until('the closes travelled', () => objectCount(net!.connection(0, 1)) === 1)
    expect(released).toBe(0) // C still holds one, through B
    atC.close()
    await until('the drop walked back to the creator', () => released === 1)
    await until('every object stream is gone', () => objectCount(net!.connection(0, 1)) === 0 && objectCount(net!.connection(1, 2)) === 0)
  })

  it('a handle collected on the receiving side is dropped at the creator (FinalizationRegistry)', async () => {
    net = await peers(2)
    let released = 0
    await (async () => {
      await net.carry(0, 1, handle({ big: 'x' }, { onRelease: () => released++ }))
      // The received handle is not kept anywhere: it is garbage once this returns.
    })()
    await until(
      'the collected handle released the object at its creator',
      () => {
        ;(globalThis as { gc?: () => void }).gc?.()
        return released === 1
      },
      10_000,
    )
    await collectGarbage()
  })

  it('a holder whose peer disappears drops its handles at the creator', async () => {
    net = await peers(2)
    let released = 0
    const atB = await net.carry(0, 1, handle({ n: 1 }, { onRelease: () => released++ }))
    expect(atB.isLocal).toBe(false)
    await net.cut(0, 1)
    await until('the vanished holder let go', () => released === 1)
  })

  it('a forged handle id is refused with HANDLE_UNKNOWN and reaches no other object', async () => {
    net = await peers(2)
    const secret = handle(new Account('secret'))
    const atB = await net.carry(0, 1, secret)
    const realId = Handle.wireIdOf(atB)!
    const [scope] = realId.split('.')
    const box = net.messaging[0]!.mailbox('forged')
    // Guessing another object id under the creator's scope, and a malformed id, both fail.
    for (const id of [`${scope}.${'0'.repeat(32)}`, `${scope}.${realId.split('.')[1]!.replace(/.$/, (c) => (c === '0' ? '1' : '0'))}`, 'not-an-id']) {
      await expect(net.messaging[1]!.send(net.ids[0]!, 'forged', { h: forgedHandle(id) })).rejects.toMatchObject({
        code: 'HANDLE_UNKNOWN',
      })
    }
    box.close()
    atB.close()
  })

  it('objects per connection are bounded: one more is refused with OBJECT_LIMIT', async () => {
    net = await peers(2)
    configureObjects(net.connection(0, 1), { maxObjectsPerConnection: 2 })
    const sent = await net.carry(0, 1, [handle(1), handle(2)])
    await expect(net.carry(0, 1, handle(3))).rejects.toMatchObject({ code: 'OBJECT_LIMIT' })
    for (const h of sent) h.close()
    await until('the slots came back', () => objectCount(net!.connection(0, 1)) === 0)
    const again = await net.carry(0, 1, handle(4))
    again.close()
  })
})
