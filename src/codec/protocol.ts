/**
 * The codec's wire format: msgpack (https://github.com/msgpack/msgpack/blob/master/spec.md) plus the
 * extension types below, documented with exact bytes in docs/protocol.md, section "Values". The ext
 * type numbers and payload layouts are part of the protocol: changing one needs a new mux version.
 *
 * Leaf payloads (constants, bigint, Date) are encoded and parsed here; the parsers return undefined
 * for any payload that is not the one canonical spelling of a value, and never throw.
 */

export const EXT = {
  /** fixext 1: one byte, `0x00` undefined, `0x01` negative zero. */
  constant: 0,
  /** Two's-complement big-endian bytes of the bigint, shortest form (at least one byte). */
  bigint: 1,
  /** fixext 8: float64 big-endian of `date.getTime()`; NaN for an invalid date. */
  date: 2,
  /** One msgpack array `[key0, value0, key1, value1, …]` in insertion order. */
  map: 3,
  /** One msgpack array `[member0, member1, …]` in insertion order. */
  set: 4,
  /** One msgpack map `{ name, message, code?, stack?, cause? }` (see remote-error.ts). */
  error: 5,
  /** One msgpack value: the payload the port hook returned. */
  port: 6,
} as const

export type ExtType = (typeof EXT)[keyof typeof EXT]

export const CONSTANT_UNDEFINED = 0x00
export const CONSTANT_NEGATIVE_ZERO = 0x01

/** What the payload of an extension holding nested msgpack must be. */
export const PAYLOAD_SHAPE = {
  /** Map: an array of even length (its entries count as half its length). */
  mapArray: 1,
  /** Set: an array. */
  setArray: 2,
  /** Error: a map. */
  errorMap: 3,
  /** Port: any one value. */
  any: 4,
} as const
export type PayloadShape = (typeof PAYLOAD_SHAPE)[keyof typeof PAYLOAD_SHAPE]

// ── Date ────────────────────────────────────────────────────────────────────
/** ECMAScript's time range: a Date holds an integer number of ms within ±8.64e15, or NaN. */
const MAX_DATE_MS = 8.64e15

export function encodeDatePayload(date: Date): Uint8Array {
  const payload = new Uint8Array(8)
  new DataView(payload.buffer).setFloat64(0, date.getTime())
  return payload
}

export function parseDatePayload(payload: Uint8Array): Date | undefined {
  if (payload.length !== 8) return undefined
  const ms = new DataView(payload.buffer, payload.byteOffset, 8).getFloat64(0)
  if (Number.isNaN(ms)) return new Date(NaN)
  // Anything else would be silently clipped or rounded by the Date constructor: refuse it instead.
  if (!Number.isInteger(ms) || Object.is(ms, -0) || Math.abs(ms) > MAX_DATE_MS) return undefined
  return new Date(ms)
}

// ── bigint ──────────────────────────────────────────────────────────────────
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'))

/** Byte length of the shortest two's-complement form of `value`. */
export function bigintByteLength(value: bigint): number {
  // A negative n takes as many bits as the non-negative -n - 1 (its bitwise complement), plus the sign bit.
  const magnitude = value < 0n ? -value - 1n : value
  if (magnitude === 0n) return 1
  const hex = magnitude.toString(16)
  const bits = (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0]!, 16)))
  return Math.floor(bits / 8) + 1
}

export function encodeBigintPayload(value: bigint): Uint8Array {
  const length = bigintByteLength(value)
  const hex = BigInt.asUintN(length * 8, value)
    .toString(16)
    .padStart(length * 2, '0')
  const payload = new Uint8Array(length)
  for (let i = 0; i < length; i++) payload[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return payload
}

export function parseBigintPayload(payload: Uint8Array): bigint | undefined {
  const length = payload.length
  if (length === 0) return undefined
  // Shortest form only: a leading 0x00 (or 0xff) byte is redundant when the next byte has the same sign bit.
  if (length > 1 && ((payload[0] === 0x00 && payload[1]! < 0x80) || (payload[0] === 0xff && payload[1]! >= 0x80))) return undefined
  let hex = '0x'
  for (let i = 0; i < length; i++) hex += HEX[payload[i]!]!
  const unsigned = BigInt(hex)
  return payload[0]! >= 0x80 ? BigInt.asIntN(length * 8, unsigned) : unsigned
}
