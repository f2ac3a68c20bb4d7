import { expect } from 'vitest'
import { CodecError, type CodecErrorCode } from '../../src/codec/index.js'
import { joinBytes } from '../../src/util/bytes.js'

export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '')
  const bytes = new Uint8Array(clean.length / 2)
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16)
  return bytes
}

/** The parts (byte arrays or lists of byte values) as one new Uint8Array. */
export function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  return joinBytes(parts.map((part) => Uint8Array.from(part)))
}

/** An ext 32 header and payload, whatever the payload's size, for hand-built hostile messages. */
export function ext32(type: number, payload: Uint8Array | number[]): Uint8Array {
  const length = payload.length
  return concat([0xc9, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff, type & 0xff], payload)
}

/** Runs `run` and returns the CodecError it threw, failing the test if it threw anything else or nothing. */
export function codecErrorOf(run: () => unknown): CodecError {
  try {
    run()
  } catch (error) {
    if (error instanceof CodecError) return error
    throw new Error(`expected a CodecError, got ${String(error)}`, { cause: error })
  }
  throw new Error('expected a CodecError, but nothing was thrown')
}

export function expectCodecError(run: () => unknown, code: CodecErrorCode, path?: string): CodecError {
  const error = codecErrorOf(run)
  expect(error.code, error.message).toBe(code)
  if (path !== undefined) expect(error.path).toBe(path)
  return error
}
