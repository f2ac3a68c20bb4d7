/**
 * Exact bytes for every extension type (and a few plain msgpack values), both ways, so the wire format
 * cannot drift silently. docs/protocol.md, section "Values", documents the same bytes.
 */
import { describe, expect, test } from 'vitest'
import { Codec, NOT_A_PORT } from '../../src/codec/index.js'
import { MeshscopeError } from '../../src/errors.js'
import { toHex } from '../../src/util/bytes.js'
import { fromHex } from './helpers.js'

class FakePort {
  constructor(readonly id: number) {}
}
const codec = new Codec({
  ports: {
    encodePort: (value) => (value instanceof FakePort ? { id: value.id } : NOT_A_PORT),
    decodePort: (payload) => new FakePort((payload as { id: number }).id),
  },
})

const plain: [string, unknown, string][] = [
  ['null', null, 'c0'],
  ['false / true', [false, true], '92 c2 c3'],
  ['fixints', [0, 127, -1, -32], '94 00 7f ff e0'],
  ['uint 8 / 16 / 32', [128, 256, 65_536], '93 cc80 cd0100 ce00010000'],
  ['float 64', 1.5, 'cb 3ff8000000000000'],
  ['NaN', Number.NaN, 'cb 7ff8000000000000'],
  ['Infinity', Infinity, 'cb 7ff0000000000000'],
  ['string', 'hé', 'a3 68c3a9'],
  ['binary', new Uint8Array([1, 2]), 'c4 02 0102'],
  ['object', { a: 1 }, '81 a161 01'],
]

const extensions: [string, unknown, string][] = [
  // 0: constants
  ['undefined', undefined, 'd4 00 00'],
  ['negative zero', -0, 'd4 00 01'],
  // 1: bigint, two's complement, shortest form
  ['0n', 0n, 'd4 01 00'],
  ['1n', 1n, 'd4 01 01'],
  ['-1n', -1n, 'd4 01 ff'],
  ['127n', 127n, 'd4 01 7f'],
  ['128n', 128n, 'd5 01 0080'],
  ['-128n', -128n, 'd4 01 80'],
  ['-129n', -129n, 'd5 01 ff7f'],
  ['2n ** 64n', 2n ** 64n, 'c7 09 01 010000000000000000'],
  ['-(2n ** 64n)', -(2n ** 64n), 'c7 09 01 ff0000000000000000'],
  // 2: Date, float64 milliseconds
  ['Date(0)', new Date(0), 'd7 02 0000000000000000'],
  ['Date(1_700_000_000_000)', new Date(1_700_000_000_000), 'd7 02 4278bcfe56800000'],
  ['invalid Date', new Date(Number.NaN), 'd7 02 7ff8000000000000'],
  // 3: Map, array [k, v, …]
  ['empty Map', new Map(), 'd4 03 90'],
  [
    'Map',
    new Map<unknown, unknown>([
      [1, 'a'],
      ['b', null],
    ]),
    'c7 07 03 94 01 a161 a162 c0',
  ],
  // 4: Set, array of members
  ['empty Set', new Set(), 'd4 04 90'],
  ['Set', new Set([1, 2]), 'c7 03 04 92 0102'],
  ['Set holding a Map', new Set([new Map([[1, 2]])]), 'c7 07 04 91 c7 03 03 92 0102'],
  // 5: error, map { name, message, code?, stack?, cause? }
  ['TypeError', new TypeError('x'), 'c7 1a 05 82 a46e616d65 a9547970654572726f72 a76d657373616765 a178'],
  [
    'MeshscopeError with code',
    new MeshscopeError('TIMEOUT', 't'),
    'c7 2c 05 83 a46e616d65 ae4d65736873636f70654572726f72 a76d657373616765 a174 a4636f6465 a754494d454f5554',
  ],
  ['Error with a cause', new Error('e', { cause: 1 }), 'c7 1d 05 83 a46e616d65 a54572726f72 a76d657373616765 a165 a56361757365 01'],
  // 6: port, the hook's payload
  ['port', new FakePort(7), 'c7 05 06 81 a26964 07'],
]

describe('golden bytes', () => {
  test.each([...plain, ...extensions])('%s', (_name, value, hex) => {
    const expected = hex.replace(/\s+/g, '')
    expect(toHex(codec.encode(value))).toBe(expected)
    expect(codec.decode(fromHex(expected))).toStrictEqual(value)
  })
})
