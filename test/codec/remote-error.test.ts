/** Errors from a peer are rebuilt through an allowlist of constructors, never by trusting a name. */
import { describe, expect, test } from 'vitest'
import { Codec, CodecError, type RemoteError } from '../../src/codec/index.js'
import { EXT } from '../../src/codec/protocol.js'
import { MeshscopeError } from '../../src/errors.js'
import { ext32 } from './helpers.js'

const codec = new Codec()
const roundTrip = (value: unknown) => codec.decode(codec.encode(value))
/** An error extension whose record is whatever plain value we like (as a hostile peer would send). */
const errorFromRecord = (record: Record<string, unknown>) => codec.decode(ext32(EXT.error, codec.encode(record))) as RemoteError

describe('error rebuilding', () => {
  test.each([Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError])('%o is rebuilt as itself', (Constructor) => {
    const decoded = roundTrip(new Constructor('message')) as Error
    expect(decoded.constructor).toBe(Constructor)
    expect(decoded).toBeInstanceOf(Constructor)
    expect(decoded.name).toBe(Constructor.name)
    expect(decoded.message).toBe('message')
    expect((decoded as RemoteError).remoteName).toBeUndefined()
  })

  test('MeshscopeError keeps its code; subclasses travel as MeshscopeError', () => {
    const decoded = roundTrip(new MeshscopeError('PEER_GONE', 'gone')) as MeshscopeError
    expect(decoded).toBeInstanceOf(MeshscopeError)
    expect(decoded.code).toBe('PEER_GONE')
    const fromSubclass = roundTrip(new CodecError('CODEC_CYCLE', 'loop', { path: 'value.x' })) as MeshscopeError
    expect(fromSubclass.constructor).toBe(MeshscopeError)
    expect(fromSubclass.code).toBe('CODEC_CYCLE')
    expect(fromSubclass.message).toBe('loop at value.x')
  })

  test('an unknown class arrives as a plain Error that keeps the name in remoteName', () => {
    class ValidationError extends Error {
      override name = 'ValidationError'
    }
    const decoded = roundTrip(new ValidationError('bad input')) as RemoteError
    expect(decoded.constructor).toBe(Error)
    expect(decoded.name).toBe('Error')
    expect(decoded.remoteName).toBe('ValidationError')
    expect(decoded.message).toBe('bad input')
  })

  test.each([
    'Function',
    'constructor',
    '__proto__',
    'prototype',
    'toString',
    'hasOwnProperty',
    'Object',
    'Promise',
    'AggregateError',
    'eval',
    'CodecError',
    '',
  ])('the remote name %j never selects anything but the allowlist', (name) => {
    const decoded = errorFromRecord({ name, message: 'm' })
    expect(Object.getPrototypeOf(decoded)).toBe(Error.prototype)
    expect(decoded.name).toBe('Error')
    expect(decoded.remoteName).toBe(name)
    expect(Object.prototype).not.toHaveProperty('m')
  })

  test('a MeshscopeError without a code arrives as a plain Error', () => {
    const decoded = errorFromRecord({ name: 'MeshscopeError', message: 'm' })
    expect(decoded.constructor).toBe(Error)
    expect(decoded.remoteName).toBe('MeshscopeError')
  })

  test('codes travel on any error, as an own property', () => {
    const error = Object.assign(new Error('no such file'), { code: 'ENOENT' })
    const decoded = roundTrip(error) as RemoteError
    expect(decoded.code).toBe('ENOENT')
    const numeric = roundTrip(Object.assign(new Error('x'), { code: 42 })) as RemoteError
    expect(numeric.code).toBeUndefined()
  })

  test('stacks are not sent by default; the rebuilt stack is only the first line', () => {
    const decoded = roundTrip(new TypeError('oops')) as Error
    expect(decoded.stack).toBe('TypeError: oops')
    const unknown = errorFromRecord({ name: 'Custom', message: 'm' })
    expect(unknown.stack).toBe('Custom: m')
  })

  test('stacks are sent with sendErrorStacks', () => {
    const withStacks = new Codec({ sendErrorStacks: true })
    const error = new Error('traced')
    const decoded = withStacks.decode(withStacks.encode(error)) as Error
    expect(decoded.stack).toBe(error.stack)
  })

  test('cause: any value, an undefined cause, or none', () => {
    const withMap = roundTrip(new Error('x', { cause: new Map([[1, new Uint8Array([2])]]) })) as Error
    expect(withMap.cause).toStrictEqual(new Map([[1, new Uint8Array([2])]]))
    const undefinedCause = roundTrip(new Error('x', { cause: undefined })) as Error
    expect(Object.hasOwn(undefinedCause, 'cause')).toBe(true)
    expect(undefinedCause.cause).toBeUndefined()
    const noCause = roundTrip(new Error('x')) as Error
    expect(Object.hasOwn(noCause, 'cause')).toBe(false)
  })

  test('fields a newer peer might add are ignored', () => {
    const decoded = errorFromRecord({ name: 'RangeError', message: 'm', errors: [1, 2], extra: true })
    expect(decoded).toBeInstanceOf(RangeError)
    expect(decoded).not.toHaveProperty('errors')
    expect(decoded).not.toHaveProperty('extra')
  })

  test('a non-string name or message on the sending side falls back to Error and an empty message', () => {
    const odd = new Error('x')
    Object.defineProperty(odd, 'name', { value: 5 })
    Object.defineProperty(odd, 'message', { value: { not: 'a string' } })
    const decoded = roundTrip(odd) as RemoteError
    expect(decoded.constructor).toBe(Error)
    expect(decoded.message).toBe('')
    expect(decoded.remoteName).toBeUndefined()
  })
})

test('a rebuilt error forwarded to another peer keeps its remote name', () => {
  const once = errorFromRecord({ name: 'ValidationError', message: 'm', code: 'E_BAD' })
  const twice = codec.decode(codec.encode(once)) as RemoteError
  expect(twice.remoteName).toBe('ValidationError')
  expect(twice.code).toBe('E_BAD')
})
