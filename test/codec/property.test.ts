/** Property tests (fast-check): carried values round-trip; any bytes give a value or a CodecError. */
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { Codec, CodecError, NOT_A_PORT, type CodecLimits } from '../../src/codec/index.js'

const ALLOWED_ERRORS = [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError]
const NO_CAUSE = Symbol('no cause')

const leaf = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  fc.double(), // includes NaN, ±Infinity and -0
  fc.integer(),
  fc.maxSafeInteger(),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.bigInt(),
  fc.bigInt({ min: -(2n ** 300n), max: 2n ** 300n }),
  fc.date({ noInvalidDate: false }),
  fc.uint8Array({ maxLength: 10 }),
)
const key = fc.string({ maxLength: 6 }).filter((k) => k !== '__proto__')

/** Any value the codec carries (ports aside), nested a few levels. */
const { carried } = fc.letrec<{ carried: unknown }>((tie) => ({
  carried: fc.oneof(
    { maxDepth: 4, depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('carried'), { maxLength: 5 }),
    fc.dictionary(key, tie('carried'), { maxKeys: 5, noNullPrototype: true }),
    fc.array(fc.tuple(tie('carried'), tie('carried')), { maxLength: 4 }).map((entries) => new Map(entries)),
    fc.array(tie('carried'), { maxLength: 4 }).map((members) => new Set(members)),
    fc
      .tuple(fc.constantFrom(...ALLOWED_ERRORS), fc.string({ maxLength: 10 }), fc.oneof(fc.constant(NO_CAUSE), tie('carried')))
      .map(([Constructor, message, cause]) => (cause === NO_CAUSE ? new Constructor(message) : new Constructor(message, { cause }))),
  ),
}))

const ports = { encodePort: () => NOT_A_PORT, decodePort: (payload: unknown) => ({ port: payload }) }
const codec = new Codec({ ports })

/** Decodes, and fails the property unless the outcome is a value or a CodecError. */
function decodeOrCodecError(bytes: Uint8Array): unknown {
  try {
    return codec.decode(bytes)
  } catch (error) {
    if (!(error instanceof CodecError)) throw new Error(`decode threw a non-CodecError: ${String(error)}`, { cause: error })
    return error
  }
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'insert'; at: number; byte: number }
  | { kind: 'delete'; at: number }
  | { kind: 'truncate'; at: number }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.constantFrom(0x00, 0x7f, 0x80, 0x90, 0xc1, 0xc9, 0xd4, 0xdb, 0xdd, 0xdf, 0xff) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
)

function mutate(bytes: Uint8Array, mutations: Mutation[]): Uint8Array {
  let out = [...bytes]
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % out.length
    if (m.kind === 'flip' && out.length > 0) out[at] = out[at]! ^ (1 << m.bit)
    else if (m.kind === 'set' && out.length > 0) out[at] = m.byte
    else if (m.kind === 'insert') out.splice(at, 0, m.byte)
    else if (m.kind === 'delete') out.splice(at, 1)
    else if (m.kind === 'truncate') out = out.slice(0, at)
  }
  return Uint8Array.from(out)
}

describe('properties', () => {
  test('every carried value round-trips', () => {
    fc.assert(
      fc.property(carried, (value) => {
        expect(codec.decode(codec.encode(value))).toStrictEqual(value)
      }),
      { numRuns: 1000 },
    )
  })

  test('whatever decodes can be encoded again, to bytes that decode to the same value', () => {
    fc.assert(
      fc.property(carried, fc.array(mutation, { minLength: 1, maxLength: 3 }), (value, mutations) => {
        const decoded = decodeOrCodecError(mutate(codec.encode(value), mutations))
        if (decoded instanceof CodecError) return
        expect(codec.decode(codec.encode(decoded))).toStrictEqual(decoded)
      }),
      { numRuns: 1000 },
    )
  })

  test('random bytes give a value or a CodecError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        decodeOrCodecError(bytes)
      }),
      { numRuns: 3000 },
    )
  })

  test('random msgpack-ish headers give a value or a CodecError', () => {
    const headerByte = fc.oneof(
      fc.constantFrom(0x91, 0x92, 0x81, 0xa1, 0xc0, 0x00, 0xdc, 0xdd, 0xde, 0xdf, 0xd9, 0xda, 0xdb, 0xc4, 0xc5, 0xc6),
      fc.constantFrom(0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0xff),
      fc.integer({ min: 0, max: 255 }),
    )
    fc.assert(
      fc.property(fc.array(headerByte, { maxLength: 200 }), (bytes) => {
        decodeOrCodecError(Uint8Array.from(bytes))
      }),
      { numRuns: 3000 },
    )
  })

  test('mutated valid encodings (flip, set, insert, delete, truncate) give a value or a CodecError', () => {
    fc.assert(
      fc.property(carried, fc.array(mutation, { minLength: 1, maxLength: 4 }), (value, mutations) => {
        decodeOrCodecError(mutate(codec.encode(value), mutations))
      }),
      { numRuns: 3000 },
    )
  })

  test('encode and decode agree on every limit: a value encodes under limits exactly when its bytes decode under them', () => {
    const limits = fc.record({
      maxDepth: fc.integer({ min: 0, max: 4 }),
      maxElements: fc.integer({ min: 0, max: 20 }),
      maxStringBytes: fc.integer({ min: 0, max: 12 }),
      maxBinaryBytes: fc.integer({ min: 0, max: 12 }),
    })
    const outcome = (run: () => unknown) => {
      try {
        run()
        return 'ok'
      } catch (error) {
        if (error instanceof CodecError) return error.code
        throw error
      }
    }
    fc.assert(
      fc.property(carried, limits, (value, chosen: Partial<CodecLimits>) => {
        const limited = new Codec({ limits: chosen })
        const bytes = codec.encode(value)
        expect(outcome(() => limited.encode(value))).toBe(outcome(() => limited.decode(bytes)))
      }),
      { numRuns: 2000 },
    )
  })
})
