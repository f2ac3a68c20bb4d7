import { describe, expect, test } from 'vitest'
import { Codec } from '../../src/codec/index.js'
import { MeshscopeError } from '../../src/errors.js'

const codec = new Codec()
const roundTrip = (value: unknown) => codec.decode(codec.encode(value))

const cyclicSafeNested = () => {
  const setKey = new Set([1, 'two', 3n])
  const map = new Map<unknown, unknown>([
    [setKey, [new Date(1_700_000_000_000), undefined]],
    ['plain', { deep: new Map([[new Uint8Array([9, 8]), new Set([null])]]) }],
    [-5n, new RangeError('inside a map')],
  ])
  return { list: [map, new Set([map.get('plain'), [undefined, -0]])], when: new Date(NaN) }
}

const cases: [string, unknown][] = [
  ['null', null],
  ['undefined', undefined],
  ['true', true],
  ['false', false],
  ['zero', 0],
  ['negative zero', -0],
  ['small integers', [1, -1, 127, 128, -32, -33, 255, 256, 65_535, 65_536]],
  ['large integers', [2 ** 32, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]],
  ['floats', [1.5, -0.1, 1e300, Number.MIN_VALUE, 2 ** 53 + 2]],
  ['NaN', Number.NaN],
  ['infinities', [Infinity, -Infinity]],
  ['empty string', ''],
  ['strings', ['a', 'é', '日本語', '🎉 emoji', 'x'.repeat(40), 'y'.repeat(70_000)]],
  ['Uint8Array', new Uint8Array([0, 1, 2, 255])],
  ['empty Uint8Array', new Uint8Array(0)],
  ['bigints', [0n, 1n, -1n, 127n, 128n, -128n, -129n, 255n, 256n, 2n ** 64n, -(2n ** 64n), 2n ** 1000n - 1n]],
  ['dates', [new Date(0), new Date(-1), new Date(8.64e15), new Date(-8.64e15), new Date(1_700_000_000_123)]],
  ['invalid date', new Date(NaN)],
  ['empty array', []],
  ['empty object', {}],
  ['array of everything', [null, undefined, 1, 'a', true, 1n, new Date(5), new Uint8Array([1])]],
  ['object with undefined values', { a: undefined, b: [undefined], c: null }],
  ['keys that name Object.prototype members', { constructor: 1, toString: 'x', hasOwnProperty: null, valueOf: [] }],
  ['numeric-looking keys', { '0': 'a', '10': 'b', '-1': 'c', '1.5': 'd' }],
  [
    'Map with keys of every type',
    new Map<unknown, unknown>([
      [1, 'n'],
      ['1', 's'],
      [1n, 'b'],
      [null, 0],
      [undefined, 1],
      [NaN, 2],
      [new Date(3), 3],
      [[1], 4],
      [{ k: 1 }, 5],
    ]),
  ],
  ['empty Map and Set', [new Map(), new Set()]],
  ['Set of mixed members', new Set<unknown>([1, '1', 1n, null, undefined, NaN, [1], { a: 1 }, new Uint8Array([1])])],
  ['Map nested in Set nested in Map', new Map([['outer', new Set([new Map([[new Set([1]), 'set key']])])]])],
  ['nested everything', cyclicSafeNested()],
  [
    'a shared (not cyclic) reference',
    (() => {
      const shared = { s: 1 }
      return [shared, shared]
    })(),
  ],
]

describe('round trip', () => {
  test.each(cases)('%s', (_name, value) => {
    expect(roundTrip(value)).toStrictEqual(value)
  })

  test('negative zero stays negative, at the top and nested', () => {
    expect(Object.is(roundTrip(-0), -0)).toBe(true)
    expect(Object.is((roundTrip([-0]) as number[])[0], -0)).toBe(true)
    expect(Object.is(roundTrip(0), 0)).toBe(true)
  })

  test('undefined stays distinct from null and from a missing property', () => {
    const decoded = roundTrip({ a: undefined, b: null }) as Record<string, unknown>
    expect(Object.hasOwn(decoded, 'a')).toBe(true)
    expect(decoded.a).toBeUndefined()
    expect(decoded.b).toBeNull()
  })

  test('array holes arrive as undefined, in a dense array', () => {
    // eslint-disable-next-line no-sparse-arrays
    const decoded = roundTrip([1, undefined, 3]) as unknown[]
    expect(decoded).toHaveLength(3)
    expect(1 in decoded).toBe(true)
    expect(decoded[1]).toBeUndefined()
  })

  test('other own properties of arrays are not carried', () => {
    const array = Object.assign([1, 2], { extra: 'dropped' })
    expect(roundTrip(array)).toStrictEqual([1, 2])
  })

  test('null-prototype objects are carried and arrive as ordinary objects', () => {
    const value = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1, b: [2] })
    const decoded = roundTrip(value) as Record<string, unknown>
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype)
    expect(decoded).toEqual({ a: 1, b: [2] })
  })

  test('only own enumerable string keys travel', () => {
    const value: Record<string | symbol, unknown> = { visible: 1, [Symbol('hidden')]: 2 }
    Object.defineProperty(value, 'hidden', { value: 3, enumerable: false })
    expect(roundTrip(value)).toStrictEqual({ visible: 1 })
  })

  test('with owned input, a binary that is at least half of its buffer is a view; smaller ones are still copies', () => {
    const big = new Uint8Array(1000).fill(7)
    const bytes = codec.encode([big, new Uint8Array([1, 2, 3])])
    const [bigOut, smallOut] = codec.decode(bytes, { owned: true }) as [Uint8Array, Uint8Array]
    expect(bigOut.buffer).toBe(bytes.buffer)
    expect([...bigOut]).toEqual([...big])
    expect(smallOut.buffer).not.toBe(bytes.buffer)
    // Without the option, every binary is a copy.
    const [copied] = codec.decode(bytes) as [Uint8Array]
    expect(copied.buffer).not.toBe(bytes.buffer)
  })

  test('Map and Set keep insertion order', () => {
    const map = roundTrip(
      new Map([
        ['z', 1],
        ['a', 2],
        ['m', 3],
      ]),
    ) as Map<string, number>
    expect([...map.keys()]).toEqual(['z', 'a', 'm'])
    const set = roundTrip(new Set([3, 1, 2])) as Set<number>
    expect([...set]).toEqual([3, 1, 2])
  })

  test('decoded binaries are plain Uint8Array copies, never views of the input', () => {
    const bytes = codec.encode({ a: new Uint8Array([1, 2, 3]), m: new Map([[new Uint8Array([4]), new Set([new Uint8Array([5])])]]) })
    const decoded = codec.decode(bytes) as { a: Uint8Array; m: Map<Uint8Array, Set<Uint8Array>> }
    const [key, set] = [...decoded.m][0]!
    const member = [...set!][0]!
    for (const binary of [decoded.a, key!, member]) {
      expect(binary.constructor).toBe(Uint8Array)
      expect(binary.buffer).not.toBe(bytes.buffer)
      expect(binary.byteOffset).toBe(0)
      expect(binary.buffer.byteLength).toBe(binary.byteLength)
    }
    bytes.fill(0)
    expect([...decoded.a]).toEqual([1, 2, 3])
    expect([...key!]).toEqual([4])
    expect([...member]).toEqual([5])
  })

  test('a Node Buffer encodes as a binary and decodes as a plain Uint8Array; Buffer input decodes too', () => {
    const decoded = roundTrip(Buffer.from([1, 2])) as Uint8Array
    expect(decoded.constructor).toBe(Uint8Array)
    expect([...decoded]).toEqual([1, 2])
    const fromBuffer = codec.decode(Buffer.from(codec.encode({ b: new Uint8Array([7]) }))) as { b: Uint8Array }
    expect(fromBuffer.b.constructor).toBe(Uint8Array)
    expect([...fromBuffer.b]).toEqual([7])
  })

  test('encode returns a fresh array each time (not the encoder buffer)', () => {
    const first = codec.encode('first')
    const copy = first.slice()
    codec.encode('second, which would overwrite a shared buffer')
    expect(first).toEqual(copy)
  })

  test('lone surrogates travel as U+FFFD, whatever the string length', () => {
    expect(roundTrip('a\uD800b')).toBe('a\uFFFDb')
    expect(roundTrip('x'.repeat(300) + '\uDC00')).toBe('x'.repeat(300) + '\uFFFD')
    expect(roundTrip({ 'k\uD800': 1 })).toStrictEqual({ 'k\uFFFD': 1 })
    expect(roundTrip('🎉')).toBe('🎉')
  })

  test('errors keep their class (allowlisted), message, code and cause', () => {
    const cause = new TypeError('the cause')
    const decoded = roundTrip(new RangeError('outer', { cause })) as RangeError
    expect(decoded).toBeInstanceOf(RangeError)
    expect(decoded.message).toBe('outer')
    expect(decoded.cause).toBeInstanceOf(TypeError)
    expect((decoded.cause as Error).message).toBe('the cause')

    const meshscope = roundTrip(new MeshscopeError('TIMEOUT', 'too slow')) as MeshscopeError
    expect(meshscope).toBeInstanceOf(MeshscopeError)
    expect(meshscope.code).toBe('TIMEOUT')
    expect(meshscope.name).toBe('MeshscopeError')
  })

  test('the codec is reusable after errors on both sides', () => {
    const local = new Codec()
    expect(() => local.encode({ f() {} })).toThrow()
    expect(() => local.decode(Uint8Array.of(0x92, 0x01))).toThrow()
    expect(() => local.decode(Uint8Array.of(0xd4, 0x7f, 0x00))).toThrow()
    expect(local.decode(local.encode([1, new Map([[1, 2]])]))).toStrictEqual([1, new Map([[1, 2]])])
  })

  test('a tiny micro-check: many small values through one codec', () => {
    const value = { id: 7, method: 'ping', args: [1, 'two', { three: 3 }] }
    for (let i = 0; i < 10_000; i++) expect(codec.decode(codec.encode(value))).toEqual(value)
  })
})
