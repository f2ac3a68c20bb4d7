/**
 * Values the codec carries, byte mutations and a decode that accepts only a value or a CodecError:
 * shared by the property tests and the fuzz run.
 */
import fc from 'fast-check'
import { Codec, CodecError, NOT_A_PORT } from '../../src/codec/index.js'

export const ALLOWED_ERRORS = [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError]
const NO_CAUSE = Symbol('no cause')

export const leaf = fc.oneof(
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
export const key = fc.string({ maxLength: 6 }).filter((k) => k !== '__proto__')

/** Any value the codec carries (ports aside), nested a few levels. */
export const { carried } = fc.letrec<{ carried: unknown }>((tie) => ({
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

export const ports = { encodePort: () => NOT_A_PORT, decodePort: (payload: unknown) => ({ port: payload }) }
export const codec = new Codec({ ports })

/** Decodes, and fails the property unless the outcome is a value or a CodecError. */
export function decodeOrCodecError(bytes: Uint8Array): unknown {
  try {
    return codec.decode(bytes)
  } catch (error) {
    if (!(error instanceof CodecError)) throw new Error(`decode threw a non-CodecError: ${String(error)}`, { cause: error })
    return error
  }
}

export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'insert'; at: number; byte: number }
  | { kind: 'delete'; at: number }
  | { kind: 'truncate'; at: number }

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.constantFrom(0x00, 0x7f, 0x80, 0x90, 0xc1, 0xc9, 0xd4, 0xdb, 0xdd, 0xdf, 0xff) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
)

export function mutate(bytes: Uint8Array, mutations: Mutation[]): Uint8Array {
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
