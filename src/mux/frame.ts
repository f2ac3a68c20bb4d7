/**
 * Multiplexer frames. Every data-channel message is one frame, or a batch of frames (batch.ts), of at most `maxFrameBytes` (16 KiB), header included:
 *
 *   type u8 | flags u8 | stream id u32 (big-endian) | payload
 *
 * docs/protocol.md ("Multiplexer") documents every type's payload. `parseFrame` returns a typed frame
 * or a typed error for any input and never throws.
 */

export const FRAME_HEADER_BYTES = 6
export const MAX_FRAME_BYTES = 16 * 1024
export const MUX_MAGIC = 0x6d736d78 // "msmx"
/**
 * This side's version; sessions accept peers of `MIN_MUX_VERSION` up to it (see session.ts). Version 5
 * adds the `calls` stream purpose (a peer's call stream, src/rpc/call-stream.ts): a version-4 peer
 * would refuse its OPEN as malformed, so it is the oldest version accepted. (Version 4 put frames on
 * two link lanes, version 3 charged DATA_FRAME_CREDIT_BYTES per DATA frame, version 2 added
 * batches; every accepted peer does all three.)
 */
export const MUX_VERSION = 5
export const MIN_MUX_VERSION = 5

/**
 * What every DATA frame costs in credit beyond its payload (version 3), so that the number of
 * frames a peer may send unread is bounded by the window, not only their bytes: a receiver keeps
 * about 10 B for each small message (test/mux/budget.test.ts), under this. A 16 KiB chunk pays 0.2 %.
 */
export const DATA_FRAME_CREDIT_BYTES = 32

export const FrameType = {
  /** Session handshake, first frame each way. payload: magic u32, version u16, initial window u32, max item bytes u32. */
  hello: 0x00,
  /** Opens a stream (sent before any of its data), always on the latency lane. payload: purpose u8; flag BULK_LANE: the stream's DATA and CLOSE travel on the bulk lane. */
  open: 0x01,
  /** A chunk of a message; flag FIN marks the message's last chunk. Costs its payload + DATA_FRAME_CREDIT_BYTES of credit. */
  data: 0x02,
  /** Grants the sender more credit on a stream. payload: increment u32. */
  credit: 0x03,
  /** The sender will send no more messages on this stream (after those already sent). */
  close: 0x04,
  /** The receiver wants no more messages on this stream. payload: reason u8. */
  stop: 0x05,
  /** Aborts both directions of a stream. payload: reason u8, UTF-8 message. */
  reset: 0x06,
  /** Liveness. payload: 8 opaque bytes, echoed in the pong. */
  ping: 0x07,
  pong: 0x08,
  /** The session is ending gracefully. payload: reason u8. */
  goaway: 0x09,
  /** Several frames in one message (src/mux/batch.ts). Never inside a batch. */
  batch: 0x0a,
} as const
export type FrameTypeName = keyof typeof FrameType

export const FLAG_FIN = 0x01
/** On OPEN: the stream is a bulk-lane stream (src/mux/lanes.ts). */
export const FLAG_BULK_LANE = 0x01

/** The link lane a stream's DATA and CLOSE travel on, both ways, fixed by its OPEN (src/mux/lanes.ts). */
export type StreamLane = 'latency' | 'bulk'

/**
 * Why a stream was opened: a port is claimed by the value that carries it; a request (one request)
 * and a call stream (many, under call ids: src/rpc/call-stream.ts) go to the session's `stream` event.
 */
export const StreamPurpose = { port: 0, request: 1, calls: 2 } as const
export type StreamPurposeName = keyof typeof StreamPurpose

/** Reason codes on STOP, RESET and GOAWAY. */
export const CloseReason = {
  /** Closed on purpose by the application. */
  closed: 1,
  /** The endpoint was disposed or garbage-collected without being closed. */
  dropped: 2,
  /** The stream was opened for a port nobody claimed in time. */
  unclaimed: 3,
  /** The peer broke the protocol on this stream. */
  protocolError: 4,
  /** More streams than the limit. */
  tooManyStreams: 5,
  /** The session is shutting down. */
  goingAway: 6,
} as const
export type CloseReasonName = keyof typeof CloseReason
const PURPOSE_NAMES: readonly (StreamPurposeName | undefined)[] = ['port', 'request', 'calls']
const REASON_NAMES = new Map<number, CloseReasonName>(Object.entries(CloseReason).map(([name, code]) => [code, name as CloseReasonName]))

export type Frame =
  | { type: 'hello'; version: number; initialWindowBytes: number; maxItemBytes: number }
  /** `lane` absent: the latency lane. */
  | { type: 'open'; streamId: number; purpose: StreamPurposeName; lane?: StreamLane }
  | { type: 'data'; streamId: number; fin: boolean; payload: Uint8Array }
  | { type: 'credit'; streamId: number; increment: number }
  | { type: 'close'; streamId: number }
  | { type: 'stop'; streamId: number; reason: CloseReasonName }
  | { type: 'reset'; streamId: number; reason: CloseReasonName; message: string }
  | { type: 'ping'; payload: Uint8Array }
  | { type: 'pong'; payload: Uint8Array }
  | { type: 'goaway'; reason: CloseReasonName }

export type FrameParseResult = { ok: true; frame: Frame } | { ok: false; reason: string }

const MAX_RESET_MESSAGE_BYTES = 1024
const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: false })

/**
 * The bytes `frame` takes: exact for every type but RESET, whose UTF-8 message is measured only as it
 * is written (this is then an upper bound).
 */
export function frameSizeBound(frame: Frame): number {
  switch (frame.type) {
    case 'hello':
      return FRAME_HEADER_BYTES + 14
    case 'open':
    case 'stop':
    case 'goaway':
      return FRAME_HEADER_BYTES + 1
    case 'data':
      return FRAME_HEADER_BYTES + frame.payload.byteLength
    case 'credit':
      return FRAME_HEADER_BYTES + 4
    case 'close':
      return FRAME_HEADER_BYTES
    case 'reset':
      return FRAME_HEADER_BYTES + 1 + Math.min(MAX_RESET_MESSAGE_BYTES, frame.message.length * 3)
    case 'ping':
    case 'pong':
      return FRAME_HEADER_BYTES + 8
  }
}

/**
 * Writes `frame` at `offset` of `bytes` (`view` over the same buffer), which has room for
 * `frameSizeBound(frame)` bytes; returns the bytes written. Lets a batch take frames without a
 * buffer of their own.
 */
export function writeFrame(frame: Frame, bytes: Uint8Array, view: DataView, offset: number): number {
  const streamId = 'streamId' in frame ? frame.streamId : 0
  bytes[offset] = FrameType[frame.type]
  bytes[offset + 1] = (frame.type === 'data' && frame.fin) || (frame.type === 'open' && frame.lane === 'bulk') ? FLAG_FIN | FLAG_BULK_LANE : 0
  view.setUint32(offset + 2, streamId)
  const payload = offset + FRAME_HEADER_BYTES
  switch (frame.type) {
    case 'hello':
      view.setUint32(payload, MUX_MAGIC)
      view.setUint16(payload + 4, frame.version)
      view.setUint32(payload + 6, frame.initialWindowBytes)
      view.setUint32(payload + 10, frame.maxItemBytes)
      return FRAME_HEADER_BYTES + 14
    case 'open':
      bytes[payload] = StreamPurpose[frame.purpose]
      return FRAME_HEADER_BYTES + 1
    case 'data':
      bytes.set(frame.payload, payload)
      return FRAME_HEADER_BYTES + frame.payload.byteLength
    case 'credit':
      view.setUint32(payload, frame.increment)
      return FRAME_HEADER_BYTES + 4
    case 'close':
      return FRAME_HEADER_BYTES
    case 'stop':
    case 'goaway':
      bytes[payload] = CloseReason[frame.reason]
      return FRAME_HEADER_BYTES + 1
    case 'reset': {
      bytes[payload] = CloseReason[frame.reason]
      // encodeInto writes whole characters only: a long message is cut at a character boundary.
      const room = Math.min(MAX_RESET_MESSAGE_BYTES, frame.message.length * 3)
      const { written } = textEncoder.encodeInto(frame.message, bytes.subarray(payload + 1, payload + 1 + room))
      return FRAME_HEADER_BYTES + 1 + written
    }
    case 'ping':
    case 'pong':
      bytes.fill(0, payload, payload + 8)
      bytes.set(frame.payload.subarray(0, 8), payload)
      return FRAME_HEADER_BYTES + 8
  }
}

/** One frame in a buffer of its own. */
export function encodeFrame(frame: Frame): Uint8Array {
  const bytes = new Uint8Array(frameSizeBound(frame))
  const length = writeFrame(frame, bytes, new DataView(bytes.buffer), 0)
  return length === bytes.byteLength ? bytes : bytes.slice(0, length)
}

/** Parses one frame. Data payloads are views into `bytes` (the link hands each message over once). */
export function parseFrame(bytes: Uint8Array, maxFrameBytes = MAX_FRAME_BYTES): FrameParseResult {
  if (bytes.byteLength < FRAME_HEADER_BYTES) return { ok: false, reason: `a frame of ${bytes.byteLength} bytes is shorter than its header` }
  if (bytes.byteLength > maxFrameBytes) return { ok: false, reason: `a frame of ${bytes.byteLength} bytes is over the ${maxFrameBytes}-byte limit` }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const type = bytes[0]!
  const flags = bytes[1]!
  const streamId = view.getUint32(2)
  const payloadBytes = bytes.byteLength - FRAME_HEADER_BYTES
  const exact = (expected: number, name: string): string | undefined =>
    payloadBytes === expected ? undefined : `${name} carries ${expected} payload bytes, got ${payloadBytes}`
  const sessionLevel = (name: string): string | undefined => (streamId === 0 ? undefined : `${name} belongs to stream 0`)
  const streamLevel = (name: string): string | undefined => (streamId !== 0 ? undefined : `${name} needs a stream id other than 0`)
  const noFlags = (name: string): string | undefined => (flags === 0 ? undefined : `${name} takes no flags`)
  const fail = (reason: string | undefined) => ({ ok: false as const, reason: reason! })

  switch (type) {
    case FrameType.hello: {
      const problem = sessionLevel('hello') ?? noFlags('hello') ?? exact(14, 'hello')
      if (problem) return fail(problem)
      if (view.getUint32(6) !== MUX_MAGIC) return fail('hello has the wrong magic number')
      return { ok: true, frame: { type: 'hello', version: view.getUint16(10), initialWindowBytes: view.getUint32(12), maxItemBytes: view.getUint32(16) } }
    }
    case FrameType.open: {
      const problem = streamLevel('open') ?? ((flags & ~FLAG_BULK_LANE) === 0 ? undefined : 'open has unknown flags') ?? exact(1, 'open')
      if (problem) return fail(problem)
      const purpose = PURPOSE_NAMES[bytes[6]!]
      if (!purpose) return fail(`open has unknown purpose ${bytes[6]}`)
      return { ok: true, frame: (flags & FLAG_BULK_LANE) !== 0 ? { type: 'open', streamId, purpose, lane: 'bulk' } : { type: 'open', streamId, purpose } }
    }
    case FrameType.data: {
      const problem = streamLevel('data') ?? ((flags & ~FLAG_FIN) === 0 ? undefined : 'data has unknown flags')
      if (problem) return fail(problem)
      return { ok: true, frame: { type: 'data', streamId, fin: (flags & FLAG_FIN) !== 0, payload: bytes.subarray(FRAME_HEADER_BYTES) } }
    }
    case FrameType.credit: {
      const problem = streamLevel('credit') ?? noFlags('credit') ?? exact(4, 'credit')
      if (problem) return fail(problem)
      const increment = view.getUint32(6)
      if (increment === 0) return fail('credit of 0 bytes')
      return { ok: true, frame: { type: 'credit', streamId, increment } }
    }
    case FrameType.close: {
      const problem = streamLevel('close') ?? noFlags('close') ?? exact(0, 'close')
      return problem ? fail(problem) : { ok: true, frame: { type: 'close', streamId } }
    }
    case FrameType.stop: {
      const problem = streamLevel('stop') ?? noFlags('stop') ?? exact(1, 'stop')
      if (problem) return fail(problem)
      const reason = REASON_NAMES.get(bytes[6]!)
      return reason ? { ok: true, frame: { type: 'stop', streamId, reason } } : fail(`stop has unknown reason ${bytes[6]}`)
    }
    case FrameType.reset: {
      const problem =
        streamLevel('reset') ??
        noFlags('reset') ??
        (payloadBytes >= 1 && payloadBytes <= 1 + MAX_RESET_MESSAGE_BYTES ? undefined : 'reset payload has the wrong size')
      if (problem) return fail(problem)
      const reason = REASON_NAMES.get(bytes[6]!)
      if (!reason) return fail(`reset has unknown reason ${bytes[6]}`)
      return { ok: true, frame: { type: 'reset', streamId, reason, message: textDecoder.decode(bytes.subarray(7)) } }
    }
    case FrameType.ping:
    case FrameType.pong: {
      const name = type === FrameType.ping ? 'ping' : 'pong'
      const problem = sessionLevel(name) ?? noFlags(name) ?? exact(8, name)
      if (problem) return fail(problem)
      return { ok: true, frame: { type: name, payload: bytes.slice(6) } }
    }
    case FrameType.goaway: {
      const problem = sessionLevel('goaway') ?? noFlags('goaway') ?? exact(1, 'goaway')
      if (problem) return fail(problem)
      const reason = REASON_NAMES.get(bytes[6]!)
      return reason ? { ok: true, frame: { type: 'goaway', reason } } : fail(`goaway has unknown reason ${bytes[6]}`)
    }
    default:
      return fail(`unknown frame type ${type}`)
  }
}
