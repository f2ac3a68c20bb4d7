/** The pure parts of admission at the upgrade: how client addresses are grouped, and the origin check. */
import { describe, expect, it } from 'vitest'
import { clientAddressKey, isOriginAllowed } from '../../signaling/admission.js'
import { ByteBudget } from '../../signaling/byte-budget.js'

describe('clientAddressKey', () => {
  it.each([
    ['127.0.0.2', '127.0.0.2'],
    ['::ffff:127.0.0.2', '127.0.0.2'],
    ['2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    [undefined, '?'],
  ])('%s counts as %s', (address, key) => {
    expect(clientAddressKey(address)).toBe(key)
  })

  it('two hosts of one /64 share a key; another /64 does not', () => {
    expect(clientAddressKey('2001:db8:1:2::a')).toBe(clientAddressKey('2001:db8:1:2::b'))
    expect(clientAddressKey('2001:db8:1:3::a')).not.toBe(clientAddressKey('2001:db8:1:2::a'))
  })
})

describe('isOriginAllowed', () => {
  it('absent: any origin, and none', () => {
    expect(isOriginAllowed(undefined, 'https://anyone.example')).toBe(true)
    expect(isOriginAllowed(undefined, undefined)).toBe(true)
  })

  it('a list: exactly its origins, and requests without an Origin', () => {
    const allowed = ['https://app.example']
    expect(isOriginAllowed(allowed, 'https://app.example')).toBe(true)
    expect(isOriginAllowed(allowed, 'https://app.example.evil')).toBe(false)
    expect(isOriginAllowed(allowed, 'http://app.example')).toBe(false)
    expect(isOriginAllowed(allowed, undefined)).toBe(true)
    expect(isOriginAllowed([], 'https://app.example')).toBe(false)
  })

  it('a predicate: only a true answer admits; a throw refuses', () => {
    expect(isOriginAllowed((origin) => origin === undefined, undefined)).toBe(true)
    expect(isOriginAllowed(() => 'yes' as unknown as boolean, 'https://app.example')).toBe(false)
    expect(
      isOriginAllowed(() => {
        throw new Error('boom')
      }, 'https://app.example'),
    ).toBe(false)
  })
})

describe('ByteBudget', () => {
  it('gives exactly its burst, refuses a byte more, and refills at its rate', () => {
    const budget = new ByteBudget(1_000, 1_000, 0)
    expect(budget.take(1_000, 0)).toBe(true)
    expect(budget.take(1, 0)).toBe(false)
    expect(budget.take(500, 500)).toBe(true)
    expect(budget.take(1, 500)).toBe(false)
    expect(budget.take(1_000, 10_000)).toBe(true) // refilled up to the burst, not beyond
    expect(budget.take(1, 10_000)).toBe(false)
  })

  it('never passes a message larger than the burst, and survives a clock going back', () => {
    const budget = new ByteBudget(100, 100, 1_000)
    expect(budget.take(101, 1_000_000)).toBe(false)
    expect(budget.take(100, 0)).toBe(true)
    expect(budget.take(1, 0)).toBe(false)
  })
})
