/** Ports through a fake PortHooks: where they sit, what the hooks see, and what is refused. */
import { describe, expect, test } from 'vitest'
import { Codec, CodecError, NOT_A_PORT, type PortHooks } from '../../src/codec/index.js'
import { EXT } from '../../src/codec/protocol.js'
import { MeshscopeError } from '../../src/errors.js'
import { concat, expectCodecError, ext32 } from './helpers.js'

class FakePort {
  constructor(
    readonly id: number,
    readonly inner?: unknown,
  ) {}
}

function fakeHooks() {
  const encoded: { value: object; path: string }[] = []
  const decoded: unknown[] = []
  const hooks: PortHooks = {
    encodePort(value, path) {
      if (!(value instanceof FakePort)) return NOT_A_PORT
      encoded.push({ value, path })
      return value.inner === undefined ? { id: value.id } : { id: value.id, inner: value.inner }
    },
    decodePort(payload) {
      decoded.push(payload)
      const { id } = payload as { id: number }
      return new FakePort(id)
    },
  }
  return { hooks, encoded, decoded, codec: new Codec({ ports: hooks }) }
}

describe('ports', () => {
  test('a port deep inside a Map value', () => {
    const { codec, encoded, decoded } = fakeHooks()
    const port = new FakePort(7)
    const value = { a: [0, new Map([['k', new Set([1, port])]])] }
    const result = codec.decode(codec.encode(value)) as typeof value
    expect(encoded).toEqual([{ value: port, path: 'value.a[1].get("k").values()[1]' }])
    expect(decoded).toEqual([{ id: 7 }])
    const set = (result.a[1] as Map<string, Set<unknown>>).get('k')!
    expect([...set]).toEqual([1, new FakePort(7)])
    expect([...set][1]).toBeInstanceOf(FakePort)
  })

  test('ports as Map keys, Set members, error causes and at the top', () => {
    const { codec } = fakeHooks()
    const value = [new Map([[new FakePort(1), 'key']]), new Set([new FakePort(2)]), new Error('e', { cause: new FakePort(3) })]
    const [map, set, error] = codec.decode(codec.encode(value)) as [Map<unknown, unknown>, Set<unknown>, Error]
    expect([...map.keys()][0]).toEqual(new FakePort(1))
    expect(map.get([...map.keys()][0])).toBe('key')
    expect([...set][0]).toEqual(new FakePort(2))
    expect(error.cause).toEqual(new FakePort(3))
    expect(codec.decode(codec.encode(new FakePort(4)))).toEqual(new FakePort(4))
  })

  test('functions can be ports', () => {
    const remoteFunction = Object.assign(() => 1, { remoteId: 9 })
    const codec = new Codec({
      ports: {
        encodePort: (value) => (typeof value === 'function' && 'remoteId' in value ? { fn: value.remoteId } : NOT_A_PORT),
        decodePort: (payload) => ({ proxyFor: (payload as { fn: number }).fn }),
      },
    })
    expect(codec.decode(codec.encode({ call: remoteFunction }))).toEqual({ call: { proxyFor: 9 } })
  })

  test('the hook is not asked about plain data or carried built-ins', () => {
    const { codec, encoded } = fakeHooks()
    const asked: unknown[] = []
    const spying = new Codec({
      ports: {
        encodePort: (_value, path) => {
          asked.push(path)
          return NOT_A_PORT
        },
        decodePort: () => null,
      },
    })
    spying.encode([{}, [], new Uint8Array(1), new Date(0), new Map(), new Set(), 1n, 'x', null, undefined, new Error('asked')])
    expect(asked).toEqual(['value[10]'])
    codec.encode({ a: 1 })
    expect(encoded).toEqual([])
  })

  test('a port inside a port payload is refused at encode time, with its path', () => {
    const { codec } = fakeHooks()
    const value = { outer: new FakePort(1, { nested: [new FakePort(2)] }) }
    expectCodecError(() => codec.encode(value), 'CODEC_UNSUPPORTED_VALUE', 'value.outer::payload.inner.nested[0]')
  })

  test('port payloads follow the codec rules (paths and limits inside them too)', () => {
    const { codec } = fakeHooks()
    expectCodecError(() => codec.encode([new FakePort(1, Symbol('no'))]), 'CODEC_UNSUPPORTED_VALUE', 'value[0]::payload.inner')
    const limited = new Codec({ ports: fakeHooks().hooks, limits: { maxStringBytes: 3 } })
    expectCodecError(() => limited.encode([new FakePort(1, 'long')]), 'CODEC_TOO_LARGE', 'value[0]::payload.inner')
  })

  test('a port inside a port payload is refused when decoding', () => {
    const { codec, decoded } = fakeHooks()
    const inner = ext32(EXT.port, codec.encode({ id: 2 }))
    const outer = ext32(EXT.port, concat([0x81, 0xa1, 0x70], inner))
    expectCodecError(() => codec.decode(outer), 'CODEC_BAD_EXTENSION')
    expect(decoded).toEqual([])
  })

  test('without hooks, ports are refused both ways', () => {
    const plain = new Codec()
    expectCodecError(() => plain.encode({ p: new FakePort(1) }), 'CODEC_UNSUPPORTED_VALUE', 'value.p')
    const { codec } = fakeHooks()
    expectCodecError(() => plain.decode(codec.encode(new FakePort(1))), 'CODEC_BAD_EXTENSION')
  })

  test('decodePort runs only for messages that decode completely', () => {
    const { codec, decoded } = fakeHooks()
    const good = codec.encode([new FakePort(1), 2])
    expectCodecError(() => codec.decode(concat(good, [0x00])), 'CODEC_MALFORMED')
    // the port comes first, a Set with a duplicate member after it
    const withBadSet = concat([0x92], codec.encode(new FakePort(1)), ext32(EXT.set, [0x92, 0x01, 0x01]))
    expectCodecError(() => codec.decode(withBadSet), 'CODEC_BAD_EXTENSION')
    expect(decoded).toEqual([])
  })

  test('decodePort sees payload binaries as copies, and runs in depth-first order', () => {
    const { codec, decoded } = fakeHooks()
    const bytes = codec.encode([new FakePort(1, new Uint8Array([5])), { b: new FakePort(2) }, new FakePort(3)])
    codec.decode(bytes)
    expect(decoded.map((payload) => (payload as { id: number }).id)).toEqual([1, 2, 3])
    const binary = (decoded[0] as { inner: Uint8Array }).inner
    expect(binary.buffer).not.toBe(bytes.buffer)
    expect([...binary]).toEqual([5])
  })

  test('hook errors: a MeshscopeError passes through, anything else becomes a CodecError with a cause', () => {
    const refusing = (error: unknown) =>
      new Codec({
        ports: {
          encodePort: (value) => {
            if (value instanceof FakePort) throw error
            return NOT_A_PORT
          },
          decodePort: () => {
            throw error
          },
        },
      })
    const meshscope = new MeshscopeError('INVALID_ARGUMENT', 'no such port')
    expect(() => refusing(meshscope).encode([new FakePort(1)])).toThrow(meshscope)
    const plain = new Error('hook bug')
    const encodeError = expectCodecError(() => refusing(plain).encode([new FakePort(1)]), 'CODEC_UNSUPPORTED_VALUE', 'value[0]')
    expect(encodeError.cause).toBe(plain)

    const bytes = fakeHooks().codec.encode([new FakePort(1)])
    expect(() => refusing(meshscope).decode(bytes)).toThrow(meshscope)
    const decodeError = expectCodecError(() => refusing(plain).decode(bytes), 'CODEC_BAD_EXTENSION')
    expect(decodeError.cause).toBe(plain)
    expect(decodeError).toBeInstanceOf(CodecError)
  })

  test('hooks may use the same codec re-entrantly', () => {
    let codec: Codec
    const hooks: PortHooks = {
      encodePort: (value) => (value instanceof FakePort ? { id: value.id, blob: codec.encode([value.id, 'inner']) } : NOT_A_PORT),
      decodePort: (payload) => ({ inner: codec.decode((payload as { blob: Uint8Array }).blob) }),
    }
    codec = new Codec({ ports: hooks })
    expect(codec.decode(codec.encode({ p: new FakePort(5), after: [1] }))).toEqual({ p: { inner: [5, 'inner'] }, after: [1] })
  })
})
