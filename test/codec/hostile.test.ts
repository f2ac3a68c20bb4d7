/** Hand-built hostile and malformed messages: each gives a CodecError with the right code, quickly. */
import { describe, expect, test } from 'vitest'
import { Codec, NOT_A_PORT, type CodecErrorCode } from '../../src/codec/index.js'
import { EXT } from '../../src/codec/protocol.js'
import { concat, expectCodecError, ext32, fromHex } from './helpers.js'

const codec = new Codec()
const maxed = new Codec({ limits: { maxElements: 0xffffffff, maxStringBytes: 0xffffffff, maxBinaryBytes: 0xffffffff, maxDepth: 1000 } })
const withPorts = new Codec({ ports: { encodePort: () => NOT_A_PORT, decodePort: (payload) => ({ port: payload }) } })
const repeat = (byte: number, count: number) => new Uint8Array(count).fill(byte)

/** `levels` extensions of `type` nested through their payloads, each payload an array of one item. */
function nestedExtensions(type: number, levels: number, wrapInArray: boolean): Uint8Array {
  let bytes: Uint8Array = Uint8Array.of(0xc0)
  for (let i = 0; i < levels; i++) bytes = ext32(type, wrapInArray ? concat([0x91], bytes) : bytes)
  return bytes
}

describe('hostile headers give a CodecError without allocating what they claim', () => {
  const cases: [string, Uint8Array, CodecErrorCode, Codec?][] = [
    ['a few KB of nested array headers', concat(repeat(0x91, 5000), [0x00]), 'CODEC_TOO_DEEP'],
    ['a few KB of nested array headers, nothing inside', repeat(0x91, 5000), 'CODEC_TOO_DEEP'],
    ['100 000 nested array headers under the maximum depth', repeat(0x91, 100_000), 'CODEC_TOO_DEEP', maxed],
    ['nested map headers', concat(...Array.from({ length: 2000 }, () => [0x81, 0xa1, 0x61]), [0x00]), 'CODEC_TOO_DEEP'],
    ['a 2^32 - 1 array header', fromHex('dd ffffffff'), 'CODEC_TOO_MANY_ELEMENTS'],
    ['a 2^32 - 1 array header, limits at their maximum', fromHex('dd ffffffff'), 'CODEC_MALFORMED', maxed],
    ['a 2^32 - 1 map header', fromHex('df ffffffff'), 'CODEC_TOO_MANY_ELEMENTS'],
    ['a 2^32 - 1 map header, limits at their maximum', fromHex('df ffffffff'), 'CODEC_MALFORMED', maxed],
    ['a 65 535 array header over 3 bytes', fromHex('dc ffff 000000'), 'CODEC_MALFORMED'],
    ['a huge str32 header', fromHex('db ffffffff 61'), 'CODEC_TOO_LARGE'],
    ['a huge str32 header, limits at their maximum', fromHex('db ffffffff 61'), 'CODEC_MALFORMED', maxed],
    ['a huge bin32 header', fromHex('c6 ffffffff 00'), 'CODEC_TOO_LARGE'],
    ['a huge bin32 header, limits at their maximum', fromHex('c6 ffffffff 00'), 'CODEC_MALFORMED', maxed],
    ['a huge ext32 header', fromHex('c9 ffffffff 03 90'), 'CODEC_MALFORMED'],
    ['a huge bigint header', fromHex('c9 ffffffff 01 00'), 'CODEC_TOO_LARGE'],
    ['1000 nested Set payloads', nestedExtensions(EXT.set, 1000, true), 'CODEC_TOO_DEEP'],
    ['10 000 nested Set payloads under the maximum depth', nestedExtensions(EXT.set, 10_000, true), 'CODEC_TOO_DEEP', maxed],
    [
      'nested Map payloads',
      (() => {
        let bytes: Uint8Array = Uint8Array.of(0x00)
        for (let i = 0; i < 500; i++) bytes = ext32(EXT.map, concat([0x92, 0x00], bytes))
        return bytes
      })(),
      'CODEC_TOO_DEEP',
    ],
    [
      'nested error causes',
      (() => {
        let bytes: Uint8Array = Uint8Array.of(0x00)
        for (let i = 0; i < 500; i++) bytes = ext32(EXT.error, concat(fromHex('83 a46e616d65 a145 a76d657373616765 a0 a56361757365'), bytes))
        return bytes
      })(),
      'CODEC_TOO_DEEP',
    ],
    ['nested ports', nestedExtensions(EXT.port, 1000, false), 'CODEC_BAD_EXTENSION', withPorts],
    ['a port inside a port payload', nestedExtensions(EXT.port, 2, false), 'CODEC_BAD_EXTENSION', withPorts],
  ]
  test.each(cases)('%s', (_name, bytes, code, decoder = codec) => {
    expectCodecError(() => decoder.decode(bytes), code)
  })

  test('exactly maxElements one-byte items is accepted, one more is refused', () => {
    const items = 1_000_000
    const header = [0xdd, (items >>> 24) & 0xff, (items >>> 16) & 0xff, (items >>> 8) & 0xff, items & 0xff]
    expect((codec.decode(concat(header, new Uint8Array(items))) as unknown[]).length).toBe(items)
    const over = items + 1
    const overHeader = [0xdd, (over >>> 24) & 0xff, (over >>> 16) & 0xff, (over >>> 8) & 0xff, over & 0xff]
    expectCodecError(() => codec.decode(concat(overHeader, new Uint8Array(over))), 'CODEC_TOO_MANY_ELEMENTS')
  })

  test('a message over maxMessageBytes is refused before it is read', () => {
    expectCodecError(() => new Codec({ limits: { maxMessageBytes: 4 } }).decode(fromHex('a4 61626364')), 'CODEC_TOO_LARGE')
  })
})

describe('malformed messages', () => {
  const cases: [string, string, CodecErrorCode][] = [
    ['empty', '', 'CODEC_MALFORMED'],
    ['0xc1 (never used)', 'c1', 'CODEC_MALFORMED'],
    ['a truncated array', '92 01', 'CODEC_MALFORMED'],
    ['a truncated string', 'a3 6162', 'CODEC_MALFORMED'],
    ['a truncated float', 'cb 3ff8', 'CODEC_MALFORMED'],
    ['a truncated length', 'da 00', 'CODEC_MALFORMED'],
    ['a truncated ext header', 'c8 00', 'CODEC_MALFORMED'],
    ['trailing bytes after the value', '01 02', 'CODEC_MALFORMED'],
    ['two values', 'c0 c0', 'CODEC_MALFORMED'],
    ['a map with a number key', '81 01 01', 'CODEC_MALFORMED'],
    ['a map with a nil key', '81 c0 01', 'CODEC_MALFORMED'],
    ['a map with a "__proto__" key', '81 a9 5f5f70726f746f5f5f 80', 'CODEC_MALFORMED'],
    ['a nested "__proto__" key', '91 81 a9 5f5f70726f746f5f5f 01', 'CODEC_MALFORMED'],
  ]
  test.each(cases)('%s', (_name, hex, code) => {
    expectCodecError(() => codec.decode(fromHex(hex)), code)
  })

  test('input that is not a Uint8Array', () => {
    for (const input of ['c0', null, undefined, [0xc0], new Uint16Array([0xc0]), new ArrayBuffer(1), new DataView(new ArrayBuffer(1))]) {
      expectCodecError(() => codec.decode(input as unknown as Uint8Array), 'CODEC_MALFORMED')
    }
  })

  test('a string key that merely looks like a prototype member is fine', () => {
    expect(codec.decode(fromHex('81 ab 636f6e7374727563746f72 01'))).toStrictEqual({ constructor: 1 })
  })

  test.each([
    ['a bad continuation byte', 'a2 c328'],
    ['a lone continuation byte', 'a1 80'],
    ['an overlong form', 'a2 c0af'],
    ['an overlong 3-byte form', 'a3 e080af'],
    ['an encoded surrogate (CESU-8)', 'a3 eda080'],
    ['a code point past U+10FFFF', 'a4 f4908080'],
    ['0xff', 'a1 ff'],
    ['a sequence cut by the end of the string', 'a2 e282 '],
    ['a bad map key', '81 a1 ff 01'],
    ['a long string (the Decoder would use TextDecoder)', 'da 012c' + '61'.repeat(299) + 'ff'],
  ])('invalid UTF-8 is refused: %s', (_name, hex) => {
    expectCodecError(() => codec.decode(fromHex(hex)), 'CODEC_MALFORMED')
  })

  test('well-formed UTF-8 of every length class is accepted', () => {
    expect(codec.decode(fromHex('ad 61 c3a9 e282ac f09f8e89 ed9fbf'))).toBe('aé€🎉\uD7FF')
    expect(codec.decode(fromHex('a4 f48fbfbf'))).toBe('\u{10FFFF}')
  })
})

describe('bad extensions', () => {
  const cases: [string, string | Uint8Array][] = [
    ['an unknown extension type', 'd4 7f 00'],
    ['the msgpack timestamp (-1), which meshscope does not use', 'd6 ff 00000000'],
    ['an unknown constant', 'd4 00 02'],
    ['a constant of two bytes', 'd5 00 0000'],
    ['an empty bigint', 'c7 00 01'],
    ['a bigint with a redundant 0x00 byte', 'd5 01 0001'],
    ['a bigint with a redundant 0xff byte', 'd5 01 ff80'],
    ['a Date of 4 bytes', 'd6 02 00000000'],
    ['a Date of 0.5 ms', 'd7 02 3fe0000000000000'],
    ['a Date past the ECMAScript range', 'd7 02 433eb208c2dc0001'],
    ['a Date of -0 ms', 'd7 02 8000000000000000'],
    ['a Date of Infinity', 'd7 02 7ff0000000000000'],
    ['an empty Map payload', 'c7 00 03'],
    ['a Map payload that is not an array', 'd4 03 01'],
    ['a Map payload of odd length', 'd5 03 91 01'],
    ['a Map with a duplicate key', ext32(EXT.map, fromHex('94 01 01 01 02'))],
    ['a Map with a duplicate NaN key', ext32(EXT.map, fromHex('94 cb7ff8000000000000 01 cb7ff8000000000000 02'))],
    ['a Set payload that is a map', 'd4 04 80'],
    ['a Set payload with a trailing byte', 'd5 04 90 00'],
    ['a Set with a duplicate member', ext32(EXT.set, fromHex('93 01 02 01'))],
    ['an error payload that is an array', 'd4 05 90'],
    ['an error without a message', ext32(EXT.error, fromHex('81 a46e616d65 a145'))],
    ['an error whose name is a number', ext32(EXT.error, fromHex('82 a46e616d65 01 a76d657373616765 a0'))],
    ['an error whose code is a number', ext32(EXT.error, fromHex('83 a46e616d65 a145 a76d657373616765 a0 a4636f6465 01'))],
    ['an error whose stack is not a string', ext32(EXT.error, fromHex('83 a46e616d65 a145 a76d657373616765 a0 a5737461636b c0'))],
    ['a port without port hooks', 'd4 06 c0'],
    ['a leaf extension payload with a trailing byte inside an array', '92 d5 00 0000 01'],
  ]
  test.each(cases)('%s', (_name, message) => {
    expectCodecError(() => codec.decode(typeof message === 'string' ? fromHex(message) : message), 'CODEC_BAD_EXTENSION')
  })
})
