/** Values that cannot travel are refused at encode time, with a code and the exact path. */
import { describe, expect, test } from 'vitest'
import { Codec, CodecError } from '../../src/codec/index.js'
import { isMeshscopeError } from '../../src/errors.js'
import { expectCodecError } from './helpers.js'

const codec = new Codec()

class WithMethods {
  value = 1
  method(): number {
    return this.value
  }
}
class MyMap extends Map {}
class MyArray extends Array {}

describe('unsupported values name their path', () => {
  const at = (inner: unknown) => ({ a: [0, 1, { b: inner }] })
  const cases: [string, unknown][] = [
    ['a function', () => 1],
    ['an async function', async () => 1],
    ['a class', WithMethods],
    ['a symbol', Symbol('s')],
    ['a class instance with methods', new WithMethods()],
    ['a subclass of Map', new MyMap()],
    ['a subclass of Array', MyArray.from([1])],
    ['a Float32Array', new Float32Array(1)],
    ['a Uint8ClampedArray', new Uint8ClampedArray(1)],
    ['a DataView', new DataView(new ArrayBuffer(1))],
    ['an ArrayBuffer', new ArrayBuffer(1)],
    ['a RegExp', /x/],
    ['a Promise', Promise.resolve()],
    ['a WeakMap', new WeakMap()],
    ['a boxed string', Object('x')],
  ]
  test.each(cases)('%s at value.a[2].b', (_name, inner) => {
    const error = expectCodecError(() => codec.encode(at(inner)), 'CODEC_UNSUPPORTED_VALUE', 'value.a[2].b')
    expect(error.message).toContain('value.a[2].b')
    expect(isMeshscopeError(error, 'CODEC_UNSUPPORTED_VALUE')).toBe(true)
  })

  test('the message says what was met', () => {
    expect(codec.encode.bind(codec, { f: function named() {} })).toThrow(/function \(named\) at value\.f/)
    expect(codec.encode.bind(codec, [new WithMethods()])).toThrow(/instance of WithMethods .* at value\[0\]$/)
    expect(codec.encode.bind(codec, new Float32Array(1))).toThrow(/Float32Array/)
  })

  test('paths through Maps, Sets, errors and odd keys', () => {
    const fn = () => 1
    expectCodecError(() => codec.encode(fn), 'CODEC_UNSUPPORTED_VALUE', 'value')
    expectCodecError(() => codec.encode({ 'a b': fn }), 'CODEC_UNSUPPORTED_VALUE', 'value["a b"]')
    expectCodecError(() => codec.encode({ m: new Map([['k', [fn]]]) }), 'CODEC_UNSUPPORTED_VALUE', 'value.m.get("k")[0]')
    expectCodecError(() => codec.encode(new Map([[7, fn]])), 'CODEC_UNSUPPORTED_VALUE', 'value.get(7)')
    expectCodecError(() => codec.encode(new Map([[3n, fn]])), 'CODEC_UNSUPPORTED_VALUE', 'value.get(3n)')
    expectCodecError(
      () =>
        codec.encode(
          new Map<unknown, unknown>([
            [1, 1],
            [{}, fn],
          ]),
        ),
      'CODEC_UNSUPPORTED_VALUE',
      'value.values()[1]',
    )
    expectCodecError(
      () =>
        codec.encode(
          new Map<unknown, unknown>([
            [1, 1],
            [fn, 1],
          ]),
        ),
      'CODEC_UNSUPPORTED_VALUE',
      'value.keys()[1]',
    )
    expectCodecError(() => codec.encode(new Set([1, 2, fn])), 'CODEC_UNSUPPORTED_VALUE', 'value.values()[2]')
    expectCodecError(() => codec.encode({ e: new Error('x', { cause: { f: fn } }) }), 'CODEC_UNSUPPORTED_VALUE', 'value.e.cause.f')
  })

  test('an own "__proto__" key is refused (the decoder could not rebuild it safely)', () => {
    const value = JSON.parse('{"ok": 1, "__proto__": {"polluted": true}}') as unknown
    expectCodecError(() => codec.encode({ x: value }), 'CODEC_UNSUPPORTED_VALUE', 'value.x.__proto__')
  })

  test('a getter that changes its answer while being encoded still gives a CodecError', () => {
    let reads = 0
    const value = {
      get x(): unknown {
        return reads++ === 0 ? 1 : Symbol('changed')
      },
    }
    expect(codec.encode.bind(codec, value)).toThrow(CodecError)
  })
})

describe('cycles', () => {
  test('through an array', () => {
    const value: { x: unknown[] } = { x: [1] }
    value.x.push(value)
    expectCodecError(() => codec.encode(value), 'CODEC_CYCLE', 'value.x[1]')
  })

  test('an object that holds itself', () => {
    const value: Record<string, unknown> = {}
    value.self = value
    expectCodecError(() => codec.encode(value), 'CODEC_CYCLE', 'value.self')
  })

  test('through a Map value, a Map key and a Set', () => {
    const map = new Map<unknown, unknown>()
    map.set('self', map)
    expectCodecError(() => codec.encode(map), 'CODEC_CYCLE', 'value.get("self")')
    const keyed = new Map<unknown, unknown>()
    keyed.set(keyed, 1)
    expectCodecError(() => codec.encode([keyed]), 'CODEC_CYCLE', 'value[0].keys()[0]')
    const set = new Set<unknown>()
    set.add(set)
    expectCodecError(() => codec.encode(set), 'CODEC_CYCLE', 'value.values()[0]')
  })

  test('through an error cause', () => {
    const error = new Error('loop')
    error.cause = error
    expectCodecError(() => codec.encode(error), 'CODEC_CYCLE', 'value.cause')
  })

  test('a cycle is reported even when the depth limit is small', () => {
    const value: unknown[] = []
    value.push(value)
    expectCodecError(() => new Codec({ limits: { maxDepth: 1 } }).encode(value), 'CODEC_CYCLE', 'value[0]')
  })

  test('a shared reference that is not a cycle is fine', () => {
    const shared = [1]
    expect(codec.decode(codec.encode({ a: shared, b: [shared, shared] }))).toStrictEqual({ a: [1], b: [[1], [1]] })
  })
})
