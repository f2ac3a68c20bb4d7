/**
 * Every limit of the value codec, in one place. `Codec.decode` checks all of them against the raw bytes
 * (src/codec/scan.ts) before the msgpack decoder allocates anything; `Codec.encode` checks the same
 * limits, counted the same way, so whatever one peer encodes the other decodes with equal limits.
 */
import { MeshscopeError } from '../errors.js'

export interface CodecLimits {
  /**
   * Largest encoded value, in bytes.
   * @default 16 * 1024 * 1024
   */
  maxMessageBytes: number
  /**
   * Deepest nesting. Every array, plain object, Map, Set and error is one level (an error's `cause`
   * sits one level below it); scalars, strings, binaries, bigints, dates and ports are level 0 — a
   * port's payload counts its own containers. So `1` is depth 0, `[]` depth 1, `{ a: [new Map()] }` depth 3.
   * @default 64
   */
  maxDepth: number
  /**
   * Most elements in one value, summed over all of it: array items, object entries, Map entries,
   * Set members and error fields (name, message, code, stack, cause: 2 to 5 per error).
   * @default 1_000_000
   */
  maxElements: number
  /**
   * Longest string (values and object keys alike), in UTF-8 bytes.
   * @default 16 * 1024 * 1024
   */
  maxStringBytes: number
  /**
   * Longest Uint8Array, in bytes; also the longest bigint (its two's-complement bytes).
   * @default 16 * 1024 * 1024
   */
  maxBinaryBytes: number
}

/** The defaults: one value may fill 16 MiB, the mux's largest item (src/mux/config.ts `maxItemBytes`). */
export const DEFAULT_CODEC_LIMITS: Readonly<CodecLimits> = Object.freeze({
  maxMessageBytes: 16 * 1024 * 1024,
  maxDepth: 64,
  maxElements: 1_000_000,
  maxStringBytes: 16 * 1024 * 1024,
  maxBinaryBytes: 16 * 1024 * 1024,
})

/**
 * The codec recurses once per level (on both sides), so depth has a hard ceiling far below any
 * engine's stack size; lengths are msgpack's 32-bit lengths.
 */
export const MAX_CODEC_DEPTH = 1000
const MAX_LENGTH = 0xffffffff

/** Fills in defaults and checks every limit; throws INVALID_ARGUMENT for a bad one. */
export function resolveCodecLimits(limits: Partial<CodecLimits> = {}): Readonly<CodecLimits> {
  const resolved: CodecLimits = { ...DEFAULT_CODEC_LIMITS }
  for (const name of Object.keys(DEFAULT_CODEC_LIMITS) as (keyof CodecLimits)[]) {
    const value = limits[name]
    if (value === undefined) continue
    const [min, max] = name === 'maxDepth' ? [0, MAX_CODEC_DEPTH] : name === 'maxMessageBytes' ? [1, MAX_LENGTH] : [0, MAX_LENGTH]
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new MeshscopeError('INVALID_ARGUMENT', `codec limit ${name} must be an integer in ${min}..${max}, got ${String(value)}`)
    }
    resolved[name] = value
  }
  return Object.freeze(resolved)
}
