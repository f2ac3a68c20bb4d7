/** Every limit, exactly at it (accepted) and one over (refused with the right code), on both sides. */
import { describe, expect, test } from 'vitest'
import { Codec, DEFAULT_CODEC_LIMITS, NOT_A_PORT, type CodecErrorCode, type CodecLimits } from '../../src/codec/index.js'
import { resolveCodecLimits } from '../../src/codec/limits.js'
import { isMeshscopeError } from '../../src/errors.js'
import { expectCodecError } from './helpers.js'

class FakePort {
  constructor(readonly payload: unknown) {}
}
const ports = {
  encodePort: (value: object) => (value instanceof FakePort ? value.payload : NOT_A_PORT),
  decodePort: (payload: unknown) => new FakePort(payload),
}
/** Encodes anything the limited codecs are asked to decode. */
const unlimited = new Codec({
  limits: { maxDepth: 1000, maxElements: 0xffffffff, maxStringBytes: 0xffffffff, maxBinaryBytes: 0xffffffff, maxMessageBytes: 0xffffffff },
  ports,
})

const nestArrays = (levels: number, inner: unknown = 0): unknown => {
  let value = inner
  for (let i = 0; i < levels; i++) value = [value]
  return value
}
const nestMaps = (levels: number): unknown => {
  let value: unknown = 0
  for (let i = 0; i < levels; i++) value = new Map([['k', value]])
  return value
}
const nestErrors = (levels: number): unknown => {
  let value: unknown = 0
  for (let i = 0; i < levels; i++) value = new Error('e', { cause: value })
  return value
}
const keys = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, i]))

interface LimitCase {
  name: string
  limits: Partial<CodecLimits>
  atLimit: unknown
  overLimit: unknown
  code: CodecErrorCode
}

const cases: LimitCase[] = [
  // a str8 header is 2 bytes: 98 characters encode to 100 bytes
  { name: 'maxMessageBytes, one string', limits: { maxMessageBytes: 100 }, atLimit: 'x'.repeat(98), overLimit: 'x'.repeat(99), code: 'CODEC_TOO_LARGE' },
  // an array 16 header is 3 bytes: 97 fixints encode to 100 bytes
  {
    name: 'maxMessageBytes, many small items',
    limits: { maxMessageBytes: 100 },
    atLimit: Array(97).fill(1),
    overLimit: Array(98).fill(1),
    code: 'CODEC_TOO_LARGE',
  },
  { name: 'maxMessageBytes, a binary', limits: { maxMessageBytes: 12 }, atLimit: new Uint8Array(10), overLimit: new Uint8Array(11), code: 'CODEC_TOO_LARGE' },
  { name: 'maxDepth, arrays', limits: { maxDepth: 5 }, atLimit: nestArrays(5), overLimit: nestArrays(6), code: 'CODEC_TOO_DEEP' },
  { name: 'maxDepth, empty innermost container', limits: { maxDepth: 3 }, atLimit: nestArrays(2, {}), overLimit: nestArrays(3, {}), code: 'CODEC_TOO_DEEP' },
  { name: 'maxDepth, objects', limits: { maxDepth: 2 }, atLimit: { a: { b: 1 } }, overLimit: { a: { b: { c: 1 } } }, code: 'CODEC_TOO_DEEP' },
  { name: 'maxDepth, Maps (one level each)', limits: { maxDepth: 5 }, atLimit: nestMaps(5), overLimit: nestMaps(6), code: 'CODEC_TOO_DEEP' },
  { name: 'maxDepth, Sets', limits: { maxDepth: 2 }, atLimit: new Set([new Set()]), overLimit: new Set([new Set([new Set()])]), code: 'CODEC_TOO_DEEP' },
  { name: 'maxDepth, error causes', limits: { maxDepth: 4 }, atLimit: nestErrors(4), overLimit: nestErrors(5), code: 'CODEC_TOO_DEEP' },
  {
    name: 'maxDepth, mixed',
    limits: { maxDepth: 4 },
    atLimit: { a: new Map([[1, new Set([[]])]]) },
    overLimit: { a: new Map([[1, new Set([[[]]])]]) },
    code: 'CODEC_TOO_DEEP',
  },
  {
    name: 'maxDepth, a port is no level, its payload counts',
    limits: { maxDepth: 2 },
    atLimit: [new FakePort({ a: 1 })],
    overLimit: [new FakePort({ a: [] })],
    code: 'CODEC_TOO_DEEP',
  },
  { name: 'maxDepth 0: scalars only', limits: { maxDepth: 0 }, atLimit: 'scalar', overLimit: [], code: 'CODEC_TOO_DEEP' },
  { name: 'maxElements, array', limits: { maxElements: 10 }, atLimit: Array(10).fill(0), overLimit: Array(11).fill(0), code: 'CODEC_TOO_MANY_ELEMENTS' },
  { name: 'maxElements, object', limits: { maxElements: 10 }, atLimit: keys(10), overLimit: keys(11), code: 'CODEC_TOO_MANY_ELEMENTS' },
  {
    name: 'maxElements, Map entries count once',
    limits: { maxElements: 10 },
    atLimit: new Map(Array.from({ length: 10 }, (_, i) => [i, i])),
    overLimit: new Map(Array.from({ length: 11 }, (_, i) => [i, i])),
    code: 'CODEC_TOO_MANY_ELEMENTS',
  },
  {
    name: 'maxElements, Set',
    limits: { maxElements: 10 },
    atLimit: new Set(Array(10).keys()),
    overLimit: new Set(Array(11).keys()),
    code: 'CODEC_TOO_MANY_ELEMENTS',
  },
  {
    name: 'maxElements, summed over the value',
    limits: { maxElements: 10 },
    atLimit: [[1, 2, 3], { a: 1, b: 2 }, new Set([1, 2])],
    overLimit: [[1, 2, 3], { a: 1, b: 2 }, new Set([1, 2, 3])],
    code: 'CODEC_TOO_MANY_ELEMENTS',
  },
  {
    name: 'maxElements, error fields',
    limits: { maxElements: 3 },
    atLimit: new Error('name and message are 2', { cause: 'and cause 1' }),
    overLimit: [new Error('2 + 1 for the array', { cause: 1 })],
    code: 'CODEC_TOO_MANY_ELEMENTS',
  },
  { name: 'maxStringBytes, ASCII', limits: { maxStringBytes: 10 }, atLimit: 'x'.repeat(10), overLimit: 'x'.repeat(11), code: 'CODEC_TOO_LARGE' },
  { name: 'maxStringBytes, counted in UTF-8', limits: { maxStringBytes: 10 }, atLimit: 'é'.repeat(5), overLimit: 'é'.repeat(5) + 'x', code: 'CODEC_TOO_LARGE' },
  { name: 'maxStringBytes, emoji', limits: { maxStringBytes: 8 }, atLimit: '🎉🎉', overLimit: '🎉🎉x', code: 'CODEC_TOO_LARGE' },
  {
    name: 'maxStringBytes, object keys',
    limits: { maxStringBytes: 10 },
    atLimit: { ['k'.repeat(10)]: 1 },
    overLimit: { ['k'.repeat(11)]: 1 },
    code: 'CODEC_TOO_LARGE',
  },
  {
    name: 'maxStringBytes, inside a Set',
    limits: { maxStringBytes: 10 },
    atLimit: new Set(['x'.repeat(10)]),
    overLimit: new Set(['x'.repeat(11)]),
    code: 'CODEC_TOO_LARGE',
  },
  { name: 'maxBinaryBytes, Uint8Array', limits: { maxBinaryBytes: 10 }, atLimit: new Uint8Array(10), overLimit: new Uint8Array(11), code: 'CODEC_TOO_LARGE' },
  {
    name: 'maxBinaryBytes, nested in a Map',
    limits: { maxBinaryBytes: 10 },
    atLimit: new Map([[new Uint8Array(10), 1]]),
    overLimit: new Map([[new Uint8Array(11), 1]]),
    code: 'CODEC_TOO_LARGE',
  },
  // 2^79 - 1 needs 79 bits plus a sign bit: 10 bytes; 2^79 needs 11
  { name: 'maxBinaryBytes, bigint', limits: { maxBinaryBytes: 10 }, atLimit: 2n ** 79n - 1n, overLimit: 2n ** 79n, code: 'CODEC_TOO_LARGE' },
  { name: 'maxBinaryBytes, negative bigint', limits: { maxBinaryBytes: 10 }, atLimit: -(2n ** 79n), overLimit: -(2n ** 79n) - 1n, code: 'CODEC_TOO_LARGE' },
]

describe('limits', () => {
  describe.each(cases)('$name', ({ limits, atLimit, overLimit, code }) => {
    const codec = new Codec({ limits, ports })

    test('encode: at the limit is accepted, one over is refused', () => {
      const bytes = codec.encode(atLimit)
      expect(codec.decode(bytes)).toStrictEqual(atLimit)
      expectCodecError(() => codec.encode(overLimit), code)
    })

    test('decode: at the limit is accepted, one over is refused', () => {
      expect(codec.decode(unlimited.encode(atLimit))).toStrictEqual(atLimit)
      expectCodecError(() => codec.decode(unlimited.encode(overLimit)), code)
    })
  })

  test('the first case really is at the byte limit', () => {
    expect(new Codec().encode('x'.repeat(98))).toHaveLength(100)
  })

  test('limit errors at encode time name the path', () => {
    const codec = new Codec({ limits: { maxStringBytes: 3, maxBinaryBytes: 1, maxDepth: 2, maxElements: 4 } })
    expectCodecError(() => codec.encode({ l: [1, 'abcd'] }), 'CODEC_TOO_LARGE', 'value.l[1]')
    expectCodecError(() => codec.encode([new Map([[1, new Uint8Array(2)]])]), 'CODEC_TOO_LARGE', 'value[0].get(1)')
    expectCodecError(() => codec.encode({ a: { b: [] } }), 'CODEC_TOO_DEEP', 'value.a.b')
    expectCodecError(() => codec.encode([1, [2, 3, 4]]), 'CODEC_TOO_MANY_ELEMENTS', 'value[1]')
  })

  test('a value that could only encode to gigabytes fails early (a shared big string, many times)', () => {
    const big = 'x'.repeat(1024 * 1024)
    expectCodecError(() => new Codec().encode(Array(100).fill(big)), 'CODEC_TOO_LARGE', 'value[15]') // 16 × (1 MiB + 1) > 16 MiB
  })

  test('the defaults', () => {
    expect(DEFAULT_CODEC_LIMITS).toEqual({
      maxMessageBytes: 16 * 1024 * 1024,
      maxDepth: 64,
      maxElements: 1_000_000,
      maxStringBytes: 16 * 1024 * 1024,
      maxBinaryBytes: 16 * 1024 * 1024,
    })
    expect(Object.isFrozen(DEFAULT_CODEC_LIMITS)).toBe(true)
    expect(new Codec({ limits: { maxDepth: 3 } }).limits).toEqual({ ...DEFAULT_CODEC_LIMITS, maxDepth: 3 })
  })

  test.each<[string, Partial<CodecLimits>]>([
    ['maxDepth over the ceiling', { maxDepth: 1001 }],
    ['negative maxDepth', { maxDepth: -1 }],
    ['fractional maxElements', { maxElements: 1.5 }],
    ['NaN maxStringBytes', { maxStringBytes: Number.NaN }],
    ['zero maxMessageBytes', { maxMessageBytes: 0 }],
    ['maxBinaryBytes over 32 bits', { maxBinaryBytes: 2 ** 32 }],
    ['a string', { maxElements: '10' as unknown as number }],
  ])('refuses %s with INVALID_ARGUMENT', (_name, limits) => {
    expect(() => resolveCodecLimits(limits)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    try {
      new Codec({ limits })
    } catch (error) {
      expect(isMeshscopeError(error, 'INVALID_ARGUMENT')).toBe(true)
    }
  })

  test('port hooks must come in pairs', () => {
    expect(() => new Codec({ ports: { encodePort: () => NOT_A_PORT } as never })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })
})
