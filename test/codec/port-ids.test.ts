import { describe, expect, test } from 'vitest'
import { Codec, NOT_A_PORT } from '../../src/codec/index.js'
import { portStreamIds } from '../../src/codec/port-ids.js'

/** A port the codec carries as `{ k, s, v }` (as the channel layer's ports travel). */
class Port {
  constructor(readonly s: number) {}
}

const codec = new Codec({
  ports: {
    encodePort: (value) => (value instanceof Port ? { k: 'test', v: 'x'.repeat(300), s: value.s } : NOT_A_PORT),
    decodePort: (payload) => payload,
  },
})

describe('portStreamIds: the ports of a message that failed to decode', () => {
  test('finds ports at the top, deep in arrays and records, inside Map, Set and error payloads, past long strings', () => {
    const error = Object.assign(new Error('e'), { cause: new Port(70_000) })
    const value = {
      big: 'y'.repeat(100_000),
      a: [new Port(1), [new Port(300)]],
      m: new Map<unknown, unknown>([[new Port(5), new Set([new Port(7)])]]),
      error,
    }
    expect(portStreamIds(codec.encode(value))).toEqual([1, 300, 5, 7, 70_000])
    expect(portStreamIds(codec.encode(new Port(2)))).toEqual([2])
    expect(portStreamIds(codec.encode({ none: [1, 'two', null] }))).toEqual([])
  })

  test('hostile bytes: truncated messages, headers claiming more than the bytes, garbage — ids found before, never a throw', () => {
    const bytes = codec.encode([new Port(9), 'z'.repeat(1000), new Port(11)])
    for (let cut = 0; cut < bytes.byteLength; cut += 7) expect(() => portStreamIds(bytes.subarray(0, cut))).not.toThrow()
    expect(portStreamIds(bytes.subarray(0, bytes.byteLength - 1))).toEqual([9])
    expect(portStreamIds(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0))).toEqual([]) // an array of 2^32 - 1 items
    expect(portStreamIds(Uint8Array.of(0xc9, 0xff, 0xff, 0xff, 0xff, 6))).toEqual([]) // a port extension longer than the message
    expect(portStreamIds(Uint8Array.of(0xc1))).toEqual([])
    const random = new Uint8Array(4096)
    for (let round = 0; round < 50; round++) expect(() => portStreamIds(crypto.getRandomValues(random))).not.toThrow()
  })
})
