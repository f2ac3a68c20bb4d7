/** Property tests (fast-check): carried values round-trip; any bytes give a value or a CodecError. */
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { Codec, CodecError, type CodecLimits } from '../../src/codec/index.js'
import { carried, codec, decodeOrCodecError, mutate, mutation } from './arbitraries.js'

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
