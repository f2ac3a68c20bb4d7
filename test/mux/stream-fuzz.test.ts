/**
 * MuxStream's receive path under random chunking (views of padded link messages, runs, empty FINs)
 * and random interleaving of receive()/receiveParts(): messages come back exact and in order, the
 * credit returned equals the credit charged, and the budget returns to 0 once the stream ends.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { resolveMuxConfig } from '../../src/mux/config.js'
import { DATA_FRAME_CREDIT_BYTES, type Frame } from '../../src/mux/frame.js'
import { InboundBudget } from '../../src/mux/inbound-budget.js'
import { LatencyTraffic } from '../../src/mux/latency-traffic.js'
import { MuxStream, type StreamHost } from '../../src/mux/stream.js'
import { joinBytes } from '../../src/util/bytes.js'

type Step = { data: { bytes: number; pad: number; fin: boolean } } | { read: boolean }

const step = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      data: fc.record({
        bytes: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 7000, max: 16000 })),
        pad: fc.integer({ min: 0, max: 3000 }),
        fin: fc.boolean(),
      }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ read: fc.boolean() }) },
)

describe('review: stream receive fuzz', () => {
  it('messages exact, credit balanced, budget back to 0', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 300 }), async (steps: Step[]) => {
        const config = resolveMuxConfig({ initialWindowBytes: 64 * 1024, maxWindowBytes: 64 * 1024, maxInboundBytes: 2 ** 31, maxItemBytes: 1 << 30 })
        const budget = new InboundBudget(config.maxInboundBytes)
        let creditReturned = 0
        let creditCharged = 0
        const host: StreamHost = {
          config,
          remoteWindowBytes: 1 << 20,
          remoteMaxItemBytes: 1 << 30,
          budget,
          latencyTraffic: new LatencyTraffic(),
          sendControl: (f: Frame) => {
            if (f.type === 'credit') creditReturned += f.increment
          },
          markReady: () => {},
          release: () => {},
        }
        const stream = new MuxStream(2, 'request', host)
        let counter = 0
        const sent: Uint8Array[] = []
        let open: Uint8Array[] = []
        const got: Promise<Uint8Array | Uint8Array[] | null>[] = []
        for (const s of steps) {
          if ('data' in s) {
            const fin = s.data.fin || s.data.bytes === 0
            if (creditCharged + s.data.bytes + DATA_FRAME_CREDIT_BYTES > 64 * 1024 + creditReturned) {
              got.push(stream.receive())
              await Promise.resolve()
              continue
            }
            const message = new Uint8Array(s.data.bytes + s.data.pad) // a link message, padded
            const chunk = message.subarray(s.data.pad)
            for (let i = 0; i < chunk.length; i++) chunk[i] = counter++ & 0xff
            open.push(chunk.slice())
            creditCharged += chunk.byteLength + DATA_FRAME_CREDIT_BYTES
            expect(stream.onData(chunk, fin)).toBeUndefined()
            // the peer may reuse nothing, but scribble on the padding to catch views that read past
            message.fill(0xee, 0, s.data.pad)
            if (fin) {
              sent.push(
                joinBytes(
                  open,
                  open.reduce((n, p) => n + p.byteLength, 0),
                ),
              )
              open = []
            }
          } else got.push(s.read ? stream.receive() : stream.receiveParts())
        }
        await new Promise((r) => setTimeout(r, 0))
        expect(creditReturned).toBeLessThanOrEqual(creditCharged)
        stream.onClose()
        for (let i = got.length; i < sent.length + 1; i++) got.push(stream.receive())
        const results = await Promise.all(got)
        const messages = results
          .filter((r) => r !== null)
          .map((r) =>
            Array.isArray(r)
              ? joinBytes(
                  r,
                  r.reduce((n, p) => n + p.byteLength, 0),
                )
              : r!,
          )
        expect(messages.length).toBe(sent.length)
        for (let i = 0; i < sent.length; i++) expect(Buffer.from(messages[i]!).equals(Buffer.from(sent[i]!))).toBe(true)
        expect(budget.stats()).toEqual({ heldBytes: 0, assemblyBytes: 0, grantedBytes: 0, channelBytes: 0, servingBytes: 0 })
        // credit: what was returned never exceeds what was charged (the last < window/4 may stay pending)
        expect(creditReturned).toBeLessThanOrEqual(creditCharged)
      }),
      { numRuns: 3000 },
    )
  })
})
