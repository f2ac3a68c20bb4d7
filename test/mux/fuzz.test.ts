/**
 * Fuzz: random and mutated frames and batches against mux sessions over the memory link (a raw
 * peer). Whatever arrives, nothing escapes the session as an exception or unhandled rejection, it
 * never hangs (every session answers a PING afterwards or has ended), what it holds stays within its
 * budgets while it runs, its budget accounting returns to zero when it ends, and memory after the
 * whole run is bounded.
 *
 * The unit suite plays 10^4 messages with a fixed seed; `npm run fuzz` plays MUX_FUZZ_MESSAGES
 * (10^5 there) with a random seed (MUX_FUZZ_SEED to replay one) and prints the counts and time.
 */
import fc from 'fast-check'
import { expect, it } from 'vitest'
import type { MuxConfig } from '../../src/mux/config.js'
import { encodeFrame, type Frame } from '../../src/mux/frame.js'
import type { MuxSession } from '../../src/mux/session.js'
import type { MuxStream } from '../../src/mux/stream.js'
import { validFrameOf } from './frame-arbitraries.js'
import { tick } from './helpers.js'
import { memoryAfterGc } from './memory.js'
import { batchOf, rawPeer, recordEscapes, type RawPeer } from './raw-peer.js'

const MESSAGES = Number(process.env.MUX_FUZZ_MESSAGES ?? 10_000)
const SEED = process.env.MUX_FUZZ_SEED ? Number(process.env.MUX_FUZZ_SEED) : process.env.MUX_FUZZ_MESSAGES ? Date.now() : 0x6d7566
const MESSAGES_PER_RUN = 500
const MiB = 1024 * 1024
/** Small limits, so that the fuzz reaches them. */
const CONFIG: Partial<MuxConfig> = {
  initialWindowBytes: 8 * 1024,
  maxWindowBytes: 8 * 1024,
  maxItemBytes: 32 * 1024,
  maxInboundBytes: 64 * 1024,
  maxStreams: 16,
  maxQueuedControlFrames: 256,
  unclaimedStreamTimeoutMs: 20,
}
/** The worst case the budget allows (src/mux/inbound-budget.ts). */
const HELD_BOUND = (CONFIG.maxInboundBytes! * 8) / 7 + CONFIG.maxItemBytes! + CONFIG.maxWindowBytes!
/** Growth allowed over the whole run, after GC: test bookkeeping and V8's own. */
const MEMORY_SLACK_BYTES = 32 * MiB

const escaped = recordEscapes()

const streamIds = fc.integer({ min: 1, max: 40 })
/** Frames a session mostly survives, so it lives long enough to see many of them (OPENs are drawn apart, with ids that only grow). */
const survivable = validFrameOf(streamIds, 1200).filter((frame) => frame.type !== 'hello' && frame.type !== 'goaway' && frame.type !== 'open')
/** DATA on the streams the peer opened (even ids), sized to fill windows and items. */
const data = fc
  .record({ streamId: fc.integer({ min: 1, max: 20 }).map((n) => 2 * n), size: fc.integer({ min: 0, max: 2000 }), fin: fc.integer({ min: 0, max: 7 }) })
  .map(({ streamId, size, fin }): Frame => ({ type: 'data', streamId, fin: fin === 0, payload: new Uint8Array(size) }))
const open = fc.constantFrom('port' as const, 'request' as const).map((purpose): Frame => ({ type: 'open', streamId: 0, purpose }))
const mutated = fc.tuple(validFrameOf(streamIds, 64), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([frame, at, value]) => {
  const bytes = encodeFrame(frame)
  bytes[at % bytes.byteLength] = value
  return bytes
})
type Step = { frames: Array<Frame | Uint8Array> } | { raw: Uint8Array }
// Weights: a message that ends the session (most mutated ones, raw bytes) comes about once in 200.
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 200, arbitrary: survivable.map((frame) => ({ frames: [frame] })) },
  { weight: 200, arbitrary: data.map((frame) => ({ frames: [frame] })) },
  { weight: 60, arbitrary: open.map((frame) => ({ frames: [frame] })) },
  { weight: 100, arbitrary: fc.array(fc.oneof(survivable, data, data, open), { minLength: 2, maxLength: 12 }).map((frames) => ({ frames })) },
  { weight: 1, arbitrary: fc.array(fc.oneof(survivable, mutated), { minLength: 1, maxLength: 6 }).map((frames) => ({ frames })) },
  { weight: 1, arbitrary: mutated.map((raw) => ({ raw })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((raw) => ({ raw })) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.array(survivable, { minLength: 2, maxLength: 6 }), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([frames, at, value]) => {
      const raw = batchOf(frames)
      raw[at % raw.byteLength] = value
      return { raw }
    }),
  },
)

/** The link message for a step; OPENs get the raw peer's next stream id. */
function toMessage(item: Step, nextOpenId: () => number): Uint8Array {
  if ('raw' in item) return item.raw
  const frames = item.frames.map((frame) => (!(frame instanceof Uint8Array) && frame.type === 'open' ? { ...frame, streamId: nextOpenId() } : frame))
  return frames.length === 1 && !(frames[0] instanceof Uint8Array) ? encodeFrame(frames[0]!) : batchOf(frames)
}

/** Plays the application: reads every other stream the peer opens, and leaves the rest unread. */
function application(session: MuxSession): Promise<unknown>[] {
  let opened = 0
  const reads: Promise<unknown>[] = []
  session.events.on('stream', (stream: MuxStream) => {
    if (opened++ % 2 === 1) return
    reads.push(
      (async () => {
        for (;;) if ((await stream.receive().catch(() => null)) === null) return
      })(),
    )
  })
  return reads
}

/** Ends a session and checks it let go of everything. Returns whether it was still open. */
async function finish(raw: RawPeer, reads: Promise<unknown>[]): Promise<boolean> {
  try {
    const survived = raw.session.state !== 'closed' && (await raw.barrier())
    raw.session.abort('fuzz run over')
    await Promise.all(reads)
    // Every stream let go of what it held and reserved.
    expect(raw.session.stats()).toEqual({ streams: 0, inboundBytes: 0, assemblyBytes: 0, grantedBytes: 0, controlQueued: 0, channelBytes: 0, servingBytes: 0 })
    expect(raw.unparsed).toEqual([])
    return survived
  } finally {
    await raw.dispose()
  }
}

it(`fuzz: ${MESSAGES} random and mutated frames and batches; nothing escapes, nothing hangs, memory stays bounded`, async () => {
  const started = Date.now()
  const counts = { sessions: 0, messages: 0, survived: 0, maxHeld: 0, maxAssembly: 0 }
  const before = memoryAfterGc()
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: MESSAGES_PER_RUN, maxLength: MESSAGES_PER_RUN }), async (plan) => {
      // A session that ends (a message broke the protocol) is replaced, so every message reaches one.
      let raw: RawPeer | undefined
      let reads: Promise<unknown>[] = []
      let nextOpenId = 0
      for (const [index, item] of plan.entries()) {
        if (raw?.session.state === 'closed') {
          await finish(raw, reads)
          raw = undefined
        }
        if (!raw) {
          raw = rawPeer(CONFIG)
          await raw.handshake()
          reads = application(raw.session)
          nextOpenId = 0
          counts.sessions++
        }
        // Straight into the session's link, as the memory link delivers it (a macrotask per message is too slow for 10^5).
        raw.sessionLink.events.emit(
          'message',
          toMessage(item, () => (nextOpenId += 2)),
          'latency',
        )
        counts.messages++
        const stats = raw.session.stats()
        expect(stats.inboundBytes).toBeLessThanOrEqual(HELD_BOUND)
        counts.maxHeld = Math.max(counts.maxHeld, stats.inboundBytes)
        counts.maxAssembly = Math.max(counts.maxAssembly, stats.assemblyBytes)
        expect(stats.controlQueued).toBeLessThanOrEqual(CONFIG.maxQueuedControlFrames!)
        if (index % 50 === 49) await tick(0) // let the session write and the application read
      }
      if (raw && (await finish(raw, reads))) counts.survived++
      expect(escaped).toEqual([])
    }),
    { seed: SEED, numRuns: Math.ceil(MESSAGES / MESSAGES_PER_RUN), endOnFailure: true },
  )
  const growth = memoryAfterGc() - before
  const seconds = (Date.now() - started) / 1000
  if (process.env.MUX_FUZZ_MESSAGES)
    console.log(
      `[mux fuzz] seed ${SEED}: ${counts.messages} messages to ${counts.sessions} sessions ` +
        `(${counts.survived} runs ended with the session open; at most ${counts.maxHeld} bytes held, ${counts.maxAssembly} under assembly) in ${seconds.toFixed(1)} s; memory growth ${(growth / MiB).toFixed(1)} MiB`,
    )
  expect(counts.survived).toBeGreaterThan(0)
  expect(growth).toBeLessThan(MEMORY_SLACK_BYTES)
}, 600_000)
