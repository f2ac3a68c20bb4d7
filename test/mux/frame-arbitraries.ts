/** fast-check arbitraries for multiplexer frames, shared by the frame and hostile-peer tests. */
import fc from 'fast-check'
import { CloseReason, type CloseReasonName, type Frame } from '../../src/mux/frame.js'

const reasonNames = Object.keys(CloseReason) as CloseReasonName[]
const u32 = fc.integer({ min: 0, max: 0xffffffff })
const eightBytes = fc.uint8Array({ minLength: 8, maxLength: 8 })
const reason = fc.constantFrom(...reasonNames)
const encoder = new TextEncoder()
/** Messages whose UTF-8 fits the 1 KiB a reset carries (no lone surrogates: they do not survive UTF-8). */
const resetMessage = fc.string({ unit: 'binary', maxLength: 400 }).filter((message) => encoder.encode(message).byteLength <= 1024)

/** Every valid frame, on streams drawn from `streamId` (any non-zero u32 by default). */
export function validFrameOf(streamId: fc.Arbitrary<number> = fc.integer({ min: 1, max: 0xffffffff }), maxPayloadBytes = 2048): fc.Arbitrary<Frame> {
  return fc.oneof(
    fc.record({ type: fc.constant('hello' as const), version: fc.integer({ min: 0, max: 0xffff }), initialWindowBytes: u32, maxItemBytes: u32 }),
    fc.record({ type: fc.constant('open' as const), streamId, purpose: fc.constantFrom('port' as const, 'request' as const) }),
    fc.record({ type: fc.constant('data' as const), streamId, fin: fc.boolean(), payload: fc.uint8Array({ maxLength: maxPayloadBytes }) }),
    fc.record({ type: fc.constant('credit' as const), streamId, increment: fc.integer({ min: 1, max: 0xffffffff }) }),
    fc.record({ type: fc.constant('close' as const), streamId }),
    fc.record({ type: fc.constant('stop' as const), streamId, reason }),
    fc.record({ type: fc.constant('reset' as const), streamId, reason, message: resetMessage }),
    fc.record({ type: fc.constant('ping' as const), payload: eightBytes }),
    fc.record({ type: fc.constant('pong' as const), payload: eightBytes }),
    fc.record({ type: fc.constant('goaway' as const), reason }),
  )
}

export const validFrame: fc.Arbitrary<Frame> = validFrameOf()
