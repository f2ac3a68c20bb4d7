/**
 * Fuzz: random bytes and mutated valid encodings against the codec's decoder. Whatever arrives, the
 * outcome is a value or a CodecError (never another throw), no decode takes long (no hang: each is
 * bounded by the bytes it was given), and memory after the run is bounded.
 *
 * The unit suite plays CODEC_FUZZ_CASES = 10^4 with a fixed seed; `npm run fuzz` plays 10^5 with a
 * random seed (CODEC_FUZZ_SEED replays one) and prints the counts and time.
 */
import fc from 'fast-check'
import { expect, it } from 'vitest'
import { memoryAfterGc } from '../mux/memory.js'
import { carried, codec, decodeOrCodecError, mutate, mutation } from './arbitraries.js'

const CASES = Number(process.env.CODEC_FUZZ_CASES ?? 10_000)
const SEED = process.env.CODEC_FUZZ_SEED ? Number(process.env.CODEC_FUZZ_SEED) : process.env.CODEC_FUZZ_CASES ? Date.now() % 0x7fffffff : 0x636f64
/** A hang guard, not a speed target: one decode of at most a few KB, whatever the bytes say. */
const SLOWEST_DECODE_MS = 2_000
/** Growth allowed over the whole run, after GC: fast-check's and V8's own bookkeeping. */
const MEMORY_SLACK_BYTES = 32 * 1024 * 1024

/** Random bytes, msgpack-ish header soups, and valid encodings with a few mutations, mixed. */
const input = fc.oneof(
  fc.uint8Array({ maxLength: 256 }),
  fc
    .array(fc.oneof(fc.constantFrom(0x91, 0x81, 0xa1, 0xc0, 0xdc, 0xdd, 0xde, 0xdf, 0xdb, 0xc6, 0xc9, 0xd4, 0xd8), fc.integer({ min: 0, max: 255 })), {
      maxLength: 512,
    })
    .map((bytes) => Uint8Array.from(bytes)),
  fc.tuple(carried, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([value, mutations]) => mutate(codec.encode(value), mutations)),
)

it(`${CASES} random and mutated messages: a value or a CodecError, quickly, in bounded memory`, () => {
  const before = memoryAfterGc()
  const started = performance.now()
  let slowestMs = 0
  let errors = 0
  fc.assert(
    fc.property(input, (bytes) => {
      const decodeStarted = performance.now()
      if (decodeOrCodecError(bytes) instanceof Error) errors++
      slowestMs = Math.max(slowestMs, performance.now() - decodeStarted)
    }),
    { numRuns: CASES, seed: SEED },
  )
  const growth = memoryAfterGc() - before
  if (process.env.CODEC_FUZZ_CASES) {
    const seconds = ((performance.now() - started) / 1000).toFixed(1)
    console.log(
      `codec fuzz: ${CASES} messages (seed ${SEED}), ${errors} refused, in ${seconds} s; slowest ${slowestMs.toFixed(1)} ms; memory +${(growth / 2 ** 20).toFixed(1)} MiB`,
    )
  }
  expect(slowestMs).toBeLessThan(SLOWEST_DECODE_MS)
  expect(growth).toBeLessThan(MEMORY_SLACK_BYTES)
}, 600_000)
