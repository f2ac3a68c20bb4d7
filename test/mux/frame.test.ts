/**
 * Multiplexer frames (docs/protocol.md "Multiplexer"): golden bytes for every frame type, the
 * parser's refusals at and around every limit, and properties — the parser never throws on any
 * input, and encode → parse is the identity for every valid frame.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CloseReason, MAX_FRAME_BYTES, encodeFrame, parseFrame, type CloseReasonName, type Frame } from '../../src/mux/frame.js'
import { validFrame } from './frame-arbitraries.js'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
/** Hex with spaces between fields, for tables that read like the frame layout. */
const bytesOf = (spaced: string): Uint8Array => new Uint8Array(Buffer.from(spaced.replace(/\s+/g, ''), 'hex'))

const reasonNames = Object.keys(CloseReason) as CloseReasonName[]

describe('frame golden bytes', () => {
  const golden: Array<[string, Frame, string]> = [
    [
      'hello (defaults)',
      { type: 'hello', version: 1, initialWindowBytes: 256 * 1024, maxItemBytes: 16 * 1024 * 1024 },
      '00 00 00000000 6d736d78 0001 00040000 01000000',
    ],
    ['hello (extremes)', { type: 'hello', version: 0xffff, initialWindowBytes: 0xffffffff, maxItemBytes: 1 }, '00 00 00000000 6d736d78 ffff ffffffff 00000001'],
    ['open port', { type: 'open', streamId: 3, purpose: 'port' }, '01 00 00000003 00'],
    ['open request', { type: 'open', streamId: 0x01020304, purpose: 'request' }, '01 00 01020304 01'],
    ['open on the bulk lane', { type: 'open', streamId: 5, purpose: 'port', lane: 'bulk' }, '01 01 00000005 00'],
    ['data without FIN', { type: 'data', streamId: 5, fin: false, payload: bytesOf('dead') }, '02 00 00000005 dead'],
    ['data with FIN', { type: 'data', streamId: 0xfffffffe, fin: true, payload: bytesOf('beef') }, '02 01 fffffffe beef'],
    ['empty data with FIN', { type: 'data', streamId: 7, fin: true, payload: new Uint8Array(0) }, '02 01 00000007'],
    ['empty data without FIN', { type: 'data', streamId: 7, fin: false, payload: new Uint8Array(0) }, '02 00 00000007'],
    ['credit', { type: 'credit', streamId: 2, increment: 0x10000 }, '03 00 00000002 00010000'],
    ['credit (largest)', { type: 'credit', streamId: 2, increment: 0xffffffff }, '03 00 00000002 ffffffff'],
    ['close', { type: 'close', streamId: 9 }, '04 00 00000009'],
    ['stop closed', { type: 'stop', streamId: 4, reason: 'closed' }, '05 00 00000004 01'],
    ['stop dropped', { type: 'stop', streamId: 4, reason: 'dropped' }, '05 00 00000004 02'],
    ['stop unclaimed', { type: 'stop', streamId: 4, reason: 'unclaimed' }, '05 00 00000004 03'],
    ['stop protocolError', { type: 'stop', streamId: 4, reason: 'protocolError' }, '05 00 00000004 04'],
    ['stop tooManyStreams', { type: 'stop', streamId: 4, reason: 'tooManyStreams' }, '05 00 00000004 05'],
    ['stop goingAway', { type: 'stop', streamId: 4, reason: 'goingAway' }, '05 00 00000004 06'],
    [
      'reset with a message',
      { type: 'reset', streamId: 6, reason: 'protocolError', message: 'no such stream' },
      '06 00 00000006 04 6e6f2073756368207374726561 6d',
    ],
    ['reset with a UTF-8 message', { type: 'reset', streamId: 8, reason: 'dropped', message: 'é' }, '06 00 00000008 02 c3a9'],
    ['reset without a message', { type: 'reset', streamId: 6, reason: 'closed', message: '' }, '06 00 00000006 01'],
    ['ping', { type: 'ping', payload: bytesOf('0102030405060708') }, '07 00 00000000 0102030405060708'],
    ['pong', { type: 'pong', payload: bytesOf('a1b2c3d4e5f60718') }, '08 00 00000000 a1b2c3d4e5f60718'],
    ['goaway closed', { type: 'goaway', reason: 'closed' }, '09 00 00000000 01'],
    ['goaway protocolError', { type: 'goaway', reason: 'protocolError' }, '09 00 00000000 04'],
    ['goaway goingAway', { type: 'goaway', reason: 'goingAway' }, '09 00 00000000 06'],
  ]

  it.each(golden)('%s: encodes to the documented bytes and parses back', (_name, frame, spaced) => {
    const expected = spaced.replace(/\s+/g, '')
    expect(hex(encodeFrame(frame))).toBe(expected)
    expect(parseFrame(bytesOf(spaced))).toEqual({ ok: true, frame })
  })

  it('every frame type and every close reason has a golden row', () => {
    expect(new Set(golden.map(([, frame]) => frame.type))).toEqual(
      new Set(['hello', 'open', 'data', 'credit', 'close', 'stop', 'reset', 'ping', 'pong', 'goaway']),
    )
    const stopReasons = golden.flatMap(([, frame]) => (frame.type === 'stop' ? [frame.reason] : []))
    expect(stopReasons.sort()).toEqual([...reasonNames].sort())
  })

  it('parses a frame that sits at an odd offset inside a larger buffer', () => {
    const credit = new Uint8Array(3 + 10 + 5).fill(0xee)
    credit.set(bytesOf('03 00 00000002 00010000'), 3)
    expect(parseFrame(credit.subarray(3, 13))).toEqual({ ok: true, frame: { type: 'credit', streamId: 2, increment: 0x10000 } })
    const hello = new Uint8Array(1 + 20 + 3).fill(0xee)
    hello.set(bytesOf('00 00 00000000 6d736d78 0001 00040000 01000000'), 1)
    expect(parseFrame(hello.subarray(1, 21))).toEqual({ ok: true, frame: { type: 'hello', version: 1, initialWindowBytes: 0x40000, maxItemBytes: 0x1000000 } })
  })

  it('a ping payload is a copy, a data payload a view (the link hands each message over once)', () => {
    const ping = bytesOf('07 00 00000000 0102030405060708')
    const parsed = parseFrame(ping)
    ping[6] = 0xff
    expect(parsed.ok && parsed.frame.type === 'ping' && hex(parsed.frame.payload)).toBe('0102030405060708')
  })

  it('a long multi-byte reset message is cut at a character boundary, never inside one', () => {
    const bytes = encodeFrame({ type: 'reset', streamId: 2, reason: 'closed', message: 'é'.repeat(1000) }) // 2000 bytes of UTF-8
    expect(bytes.byteLength).toBe(7 + 1024)
    expect(parseFrame(bytes)).toEqual({ ok: true, frame: { type: 'reset', streamId: 2, reason: 'closed', message: 'é'.repeat(512) } })
  })

  it('a reset message over 1 KiB is cut to 1 KiB on encode, and that is accepted', () => {
    const bytes = encodeFrame({ type: 'reset', streamId: 2, reason: 'closed', message: 'x'.repeat(5000) })
    expect(bytes.byteLength).toBe(6 + 1 + 1024)
    expect(parseFrame(bytes)).toEqual({ ok: true, frame: { type: 'reset', streamId: 2, reason: 'closed', message: 'x'.repeat(1024) } })
  })
})

describe('parseFrame refusals', () => {
  /** [what, bytes, why (matched against the reason)] */
  const refusals: Array<[string, Uint8Array, RegExp]> = [
    ['empty input', new Uint8Array(0), /shorter than its header/],
    ['5 bytes (one short of the header)', bytesOf('02 00 000000'), /shorter than its header/],
    ['unknown type 0x0a', bytesOf('0a 00 00000001'), /unknown frame type 10/],
    ['unknown type 0xff', bytesOf('ff 00 00000001 00'), /unknown frame type 255/],
    // flags
    ['data with flag 0x02', bytesOf('02 02 00000001 00'), /unknown flags/],
    ['data with flag 0x80 and FIN', bytesOf('02 81 00000001 00'), /unknown flags/],
    ['hello with a flag', bytesOf('00 01 00000000 6d736d78 0001 00040000 01000000'), /takes no flags/],
    ['open with an unknown flag', bytesOf('01 02 00000003 00'), /unknown flags/],
    ['credit with a flag', bytesOf('03 01 00000002 00000001'), /takes no flags/],
    ['close with FIN', bytesOf('04 01 00000009'), /takes no flags/],
    ['stop with a flag', bytesOf('05 01 00000004 01'), /takes no flags/],
    ['reset with a flag', bytesOf('06 01 00000006 01'), /takes no flags/],
    ['ping with a flag', bytesOf('07 01 00000000 0102030405060708'), /takes no flags/],
    ['pong with a flag', bytesOf('08 80 00000000 0102030405060708'), /takes no flags/],
    ['goaway with a flag', bytesOf('09 01 00000000 01'), /takes no flags/],
    // payload sizes of the fixed-size types
    ['hello one byte short', bytesOf('00 00 00000000 6d736d78 0001 00040000 010000'), /14 payload bytes, got 13/],
    ['hello one byte long', bytesOf('00 00 00000000 6d736d78 0001 00040000 01000000 00'), /14 payload bytes, got 15/],
    ['open without purpose', bytesOf('01 00 00000003'), /1 payload bytes, got 0/],
    ['open with two bytes', bytesOf('01 00 00000003 0000'), /1 payload bytes, got 2/],
    ['credit of 3 bytes', bytesOf('03 00 00000002 000100'), /4 payload bytes, got 3/],
    ['credit of 5 bytes', bytesOf('03 00 00000002 0001000000'), /4 payload bytes, got 5/],
    ['close with a payload', bytesOf('04 00 00000009 00'), /0 payload bytes, got 1/],
    ['stop without reason', bytesOf('05 00 00000004'), /1 payload bytes, got 0/],
    ['stop with two bytes', bytesOf('05 00 00000004 0101'), /1 payload bytes, got 2/],
    ['reset without reason', bytesOf('06 00 00000006'), /wrong size/],
    ['reset with a message of 1025 bytes', new Uint8Array([6, 0, 0, 0, 0, 6, 1, ...new Uint8Array(1025).fill(0x61)]), /wrong size/],
    ['ping of 7 bytes', bytesOf('07 00 00000000 01020304050607'), /8 payload bytes, got 7/],
    ['ping of 9 bytes', bytesOf('07 00 00000000 010203040506070809'), /8 payload bytes, got 9/],
    ['pong of 0 bytes', bytesOf('08 00 00000000'), /8 payload bytes, got 0/],
    ['pong of 9 bytes', bytesOf('08 00 00000000 010203040506070809'), /8 payload bytes, got 9/],
    ['goaway without reason', bytesOf('09 00 00000000'), /1 payload bytes, got 0/],
    ['goaway with two bytes', bytesOf('09 00 00000000 0101'), /1 payload bytes, got 2/],
    // stream ids
    ['open of stream 0', bytesOf('01 00 00000000 01'), /open needs a stream id other than 0/],
    ['data on stream 0', bytesOf('02 01 00000000 00'), /data needs a stream id other than 0/],
    ['credit on stream 0', bytesOf('03 00 00000000 00000001'), /credit needs a stream id other than 0/],
    ['close of stream 0', bytesOf('04 00 00000000'), /close needs a stream id other than 0/],
    ['stop of stream 0', bytesOf('05 00 00000000 01'), /stop needs a stream id other than 0/],
    ['reset of stream 0', bytesOf('06 00 00000000 01'), /reset needs a stream id other than 0/],
    ['hello on stream 1', bytesOf('00 00 00000001 6d736d78 0001 00040000 01000000'), /hello belongs to stream 0/],
    ['ping on stream 1', bytesOf('07 00 00000001 0102030405060708'), /ping belongs to stream 0/],
    ['pong on stream 0x80000000', bytesOf('08 00 80000000 0102030405060708'), /pong belongs to stream 0/],
    ['goaway on stream 2', bytesOf('09 00 00000002 01'), /goaway belongs to stream 0/],
    // values
    ['credit of 0', bytesOf('03 00 00000002 00000000'), /credit of 0/],
    ['open with purpose 3', bytesOf('01 00 00000003 03'), /unknown purpose 3/],
    ['open with purpose 255', bytesOf('01 00 00000003 ff'), /unknown purpose 255/],
    ['stop with reason 0', bytesOf('05 00 00000004 00'), /unknown reason 0/],
    ['stop with reason 7', bytesOf('05 00 00000004 07'), /unknown reason 7/],
    ['reset with reason 0', bytesOf('06 00 00000006 00 6869'), /unknown reason 0/],
    ['reset with reason 255', bytesOf('06 00 00000006 ff'), /unknown reason 255/],
    ['goaway with reason 0', bytesOf('09 00 00000000 00'), /unknown reason 0/],
    ['goaway with reason 7', bytesOf('09 00 00000000 07'), /unknown reason 7/],
    ['hello with the wrong magic', bytesOf('00 00 00000000 6d736d79 0001 00040000 01000000'), /wrong magic/],
    ['hello with zero magic', bytesOf('00 00 00000000 00000000 0001 00040000 01000000'), /wrong magic/],
  ]

  it.each(refusals)('refuses %s', (_what, bytes, why) => {
    const result = parseFrame(bytes)
    expect(result.ok).toBe(false)
    expect(!result.ok && result.reason).toMatch(why)
  })

  it('accepts a frame of exactly maxFrameBytes and refuses one byte more', () => {
    const atLimit = encodeFrame({ type: 'data', streamId: 1, fin: true, payload: new Uint8Array(MAX_FRAME_BYTES - 6).fill(7) })
    expect(atLimit.byteLength).toBe(16 * 1024)
    const accepted = parseFrame(atLimit)
    expect(accepted.ok && accepted.frame.type === 'data' && accepted.frame.payload.byteLength).toBe(MAX_FRAME_BYTES - 6)
    const over = encodeFrame({ type: 'data', streamId: 1, fin: true, payload: new Uint8Array(MAX_FRAME_BYTES - 5) })
    expect(parseFrame(over)).toEqual({ ok: false, reason: expect.stringMatching(/16385 bytes is over the 16384-byte limit/) })
  })

  it('a smaller maxFrameBytes is honoured the same way, at and one over the limit', () => {
    const frameOf = (total: number) => encodeFrame({ type: 'data', streamId: 3, fin: false, payload: new Uint8Array(total - 6) })
    expect(parseFrame(frameOf(100), 100).ok).toBe(true)
    expect(parseFrame(frameOf(101), 100)).toEqual({ ok: false, reason: expect.stringMatching(/over the 100-byte limit/) })
    // The limit applies to every type, not only data.
    expect(parseFrame(bytesOf('03 00 00000002 00000001'), 9).ok).toBe(false)
    expect(parseFrame(bytesOf('03 00 00000002 00000001'), 10).ok).toBe(true)
  })

  it('a reset message of exactly 1 KiB is accepted', () => {
    const bytes = new Uint8Array([6, 0, 0, 0, 0, 6, 1, ...new Uint8Array(1024).fill(0x61)])
    expect(parseFrame(bytes)).toEqual({ ok: true, frame: { type: 'reset', streamId: 6, reason: 'closed', message: 'a'.repeat(1024) } })
  })

  it("the parser accepts any hello version: refusing another version is the session's job (MUX_VERSION_MISMATCH)", () => {
    expect(parseFrame(bytesOf('00 00 00000000 6d736d78 0002 00040000 01000000'))).toEqual({
      ok: true,
      frame: { type: 'hello', version: 2, initialWindowBytes: 0x40000, maxItemBytes: 0x1000000 },
    })
  })
})

// ── properties ───────────────────────────────────────────────────────────────

/** Ways a valid frame gets damaged on a hostile wire. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 32 }) }),
)
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never

function mutate(bytes: Uint8Array, mutations: Mutation[]): Uint8Array {
  let out = bytes.slice()
  for (const change of mutations) {
    if (change.kind === 'set' && out.byteLength > 0) out[change.at % out.byteLength] = change.value
    else if (change.kind === 'truncate') out = out.slice(0, change.at % (out.byteLength + 1))
    else if (change.kind === 'append') out = new Uint8Array([...out, ...change.extra])
  }
  return out
}

/** parseFrame must answer, not throw, and answer in the documented shape. */
function expectWellFormedAnswer(bytes: Uint8Array, maxFrameBytes?: number): void {
  let result: ReturnType<typeof parseFrame> | undefined
  expect(() => (result = parseFrame(bytes, maxFrameBytes))).not.toThrow()
  expect(typeof result!.ok).toBe('boolean')
  if (!result!.ok) {
    expect(typeof result!.reason).toBe('string')
    return
  }
  // Whatever parses is canonical: encoding the parsed frame gives the same bytes back (a reset's
  // message is the exception, since invalid UTF-8 is decoded with replacement characters).
  if (result!.frame.type !== 'reset') expect(hex(encodeFrame(result!.frame))).toBe(hex(bytes))
}

describe('frame properties', () => {
  it('parseFrame answers {ok} and never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => expectWellFormedAnswer(bytes)),
      { numRuns: 3000, seed: 0x6d736d78 },
    )
  })

  it('parseFrame never throws on arbitrary bytes that start with a known type, under any limit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 255 }),
        fc.uint8Array({ minLength: 4, maxLength: 40 }),
        fc.integer({ min: 1, max: MAX_FRAME_BYTES }),
        (type, flags, rest, limit) => expectWellFormedAnswer(new Uint8Array([type, flags, ...rest]), limit),
      ),
      { numRuns: 3000, seed: 42 },
    )
  })

  it('parseFrame never throws on mutated valid frames', () => {
    fc.assert(
      fc.property(validFrame, fc.array(mutation, { minLength: 1, maxLength: 4 }), (frame, mutations) =>
        expectWellFormedAnswer(mutate(encodeFrame(frame), mutations)),
      ),
      { numRuns: 3000, seed: 7 },
    )
  })

  it('encode → parse gives back every valid frame', () => {
    fc.assert(
      fc.property(validFrame, (frame) => {
        expect(parseFrame(encodeFrame(frame))).toEqual({ ok: true, frame })
      }),
      { numRuns: 2000, seed: 11 },
    )
  })
})
