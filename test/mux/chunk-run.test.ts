/**
 * ChunkRun (src/mux/chunk-run.ts): whatever the peer appends and however the reader interleaves its
 * takes, the reader gets back exactly the messages (as pieces: a message's parts in order, FIN on its
 * last) and exactly the credit they cost; and compaction keeps what the run retains close to what is
 * still unread.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BLOCK_OVERHEAD_BYTES, ChunkRun, RUN_OVERHEAD_BYTES } from '../../src/mux/chunk-run.js'
import { DATA_FRAME_CREDIT_BYTES } from '../../src/mux/frame.js'
import { joinBytes } from '../../src/util/bytes.js'

type Step = { append: { bytes: number; fin: boolean } } | { take: true }

const step = fc.oneof(
  { weight: 3, arbitrary: fc.record({ append: fc.record({ bytes: fc.integer({ min: 0, max: 300 }), fin: fc.boolean() }) }) },
  { weight: 2, arbitrary: fc.constant({ take: true as const }) },
)

describe('ChunkRun', () => {
  it('property: every message comes back whole and in order, with the credit its frames cost', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 400 }), (steps: Step[]) => {
        let run: ChunkRun | undefined
        let counter = 0
        const sent: Uint8Array[] = [] // complete messages, in order
        let open: Uint8Array[] = [] // the parts of the message not yet finished
        let creditSent = 0
        const received: Uint8Array[] = []
        let pieces: Uint8Array[] = []
        let creditTaken = 0
        for (const s of steps) {
          if ('append' in s) {
            // An empty chunk is only valid with FIN (the session resets the stream otherwise).
            const fin = s.append.fin || s.append.bytes === 0
            const chunk = Uint8Array.from({ length: s.append.bytes }, () => counter++ & 0xff)
            if (run) run.append(chunk, fin)
            else run = new ChunkRun(chunk, fin)
            creditSent += chunk.byteLength + DATA_FRAME_CREDIT_BYTES
            open.push(chunk)
            if (fin) {
              sent.push(
                joinBytes(
                  open,
                  open.reduce((n, part) => n + part.byteLength, 0),
                ),
              )
              open = []
            }
          } else if (run && !run.isUsedUp) {
            const piece = run.take()
            pieces.push(piece.bytes.bytes.slice())
            creditTaken += piece.credit
            if (piece.fin) {
              received.push(
                joinBytes(
                  pieces,
                  pieces.reduce((n, part) => n + part.byteLength, 0),
                ),
              )
              pieces = []
            }
            if (run.isUsedUp) run = undefined
          }
        }
        while (run && !run.isUsedUp) {
          const piece = run.take()
          pieces.push(piece.bytes.bytes.slice())
          creditTaken += piece.credit
          if (piece.fin) {
            received.push(
              joinBytes(
                pieces,
                pieces.reduce((n, part) => n + part.byteLength, 0),
              ),
            )
            pieces = []
          }
        }
        expect(received).toEqual(sent)
        expect(
          joinBytes(
            pieces,
            pieces.reduce((n, part) => n + part.byteLength, 0),
          ),
        ).toEqual(
          joinBytes(
            open,
            open.reduce((n, part) => n + part.byteLength, 0),
          ),
        )
        expect(creditTaken).toBe(creditSent)
      }),
      { numRuns: 300 },
    )
  })

  it('a reader that stays one message behind keeps the run about the size of what is unread', () => {
    const run = new ChunkRun(new Uint8Array(100).fill(0), true)
    const wrong: number[] = []
    for (let i = 1; i < 50_000; i++) {
      run.append(new Uint8Array(100).fill(i & 0xff), true)
      const piece = run.take()
      // Each a copy of its own: a view would keep the run's buffer alive.
      if (piece.whole || piece.bytes.bytes.byteLength !== 100 || piece.bytes.bytes[99] !== ((i - 1) & 0xff)) wrong.push(i)
    }
    expect(wrong).toEqual([])
    // One message of 100 bytes unread: taken blocks are dropped and ends compacted, not 5 MB kept; at most two blocks remain.
    expect(run.retained).toBeLessThan(RUN_OVERHEAD_BYTES + 2 * (16 * 1024 + BLOCK_OVERHEAD_BYTES) + 1024)
  })
})
