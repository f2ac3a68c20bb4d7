/**
 * Batches: several frames in one data-channel message (since mux version 2; every accepted peer takes them).
 *
 *   type u8 (0x0a) | flags u8 (0) | stream id u32 (0) | entries: length u16 | frame (length bytes) …
 *
 * Why: every data-channel message costs a trip through the WebRTC stack (in wrtc a hop to its
 * network thread and back), and a call used to send its OPEN and its first DATA as two messages, a
 * reply its DATA and CLOSE as two, and a burst of small messages one message each. The session
 * writes whatever frames are ready at once into one batch of at most `maxFrameBytes`, so a batch
 * waits behind bulk data no longer than one chunk does. A lone frame goes out as itself.
 */
import { FLAG_FIN, FRAME_HEADER_BYTES, FrameType, frameSizeBound, writeFrame, type Frame } from './frame.js'

/** The batch's own header: a frame header with type 0x0a, no flags, stream 0. */
export const BATCH_HEADER_BYTES = FRAME_HEADER_BYTES
/** Each entry's length prefix. */
export const BATCH_ENTRY_PREFIX_BYTES = 2

export type BatchSplitResult = { ok: true; frames: Uint8Array[] } | { ok: false; reason: string }

/**
 * Splits a batch into its frames (views into `bytes`), checking only the batch structure: each
 * frame is then parsed on its own. Never throws.
 */
export function splitBatch(bytes: Uint8Array): BatchSplitResult {
  if (bytes.byteLength < BATCH_HEADER_BYTES || bytes[0] !== FrameType.batch) return { ok: false, reason: 'not a batch' }
  if (bytes[1] !== 0 || bytes[2] !== 0 || bytes[3] !== 0 || bytes[4] !== 0 || bytes[5] !== 0)
    return { ok: false, reason: 'a batch takes no flags and stream 0' }
  const frames: Uint8Array[] = []
  let offset = BATCH_HEADER_BYTES
  while (offset < bytes.byteLength) {
    if (offset + BATCH_ENTRY_PREFIX_BYTES > bytes.byteLength) return { ok: false, reason: 'a batch ends inside an entry length' }
    const length = (bytes[offset]! << 8) | bytes[offset + 1]!
    offset += BATCH_ENTRY_PREFIX_BYTES
    if (length < FRAME_HEADER_BYTES) return { ok: false, reason: `a batch entry of ${length} bytes is shorter than a frame header` }
    if (offset + length > bytes.byteLength) return { ok: false, reason: 'a batch entry runs past the end of the batch' }
    const type = bytes[offset]
    if (type === FrameType.batch || type === FrameType.hello)
      return { ok: false, reason: `a batch may not hold a ${type === FrameType.batch ? 'batch' : 'hello'}` }
    frames.push(bytes.subarray(offset, offset + length))
    offset += length
  }
  if (frames.length === 0) return { ok: false, reason: 'an empty batch' }
  return { ok: true, frames }
}

/**
 * Builds the next link message in one reused buffer: frames are appended while they fit in
 * `maxFrameBytes`; `finish` returns the lone frame, or the batch when there are several.
 * The returned bytes are valid until the next `reset`: the session awaits each link send (which
 * copies) before building the next message.
 */
export class BatchWriter {
  readonly #maxFrameBytes: number
  // Room for a lone frame of maxFrameBytes behind the batch header and one length prefix.
  readonly #buffer: Uint8Array
  readonly #view: DataView
  #offset = BATCH_HEADER_BYTES
  #count = 0

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes
    this.#buffer = new Uint8Array(BATCH_HEADER_BYTES + BATCH_ENTRY_PREFIX_BYTES + maxFrameBytes)
    this.#view = new DataView(this.#buffer.buffer)
  }

  get count(): number {
    return this.#count
  }

  reset(): void {
    this.#offset = BATCH_HEADER_BYTES
    this.#count = 0
  }

  /** Payload bytes a DATA frame appended now may carry (negative: not even an empty frame fits). */
  get dataRoom(): number {
    if (this.#count === 0) return this.#maxFrameBytes - FRAME_HEADER_BYTES
    return this.#maxFrameBytes - this.#offset - BATCH_ENTRY_PREFIX_BYTES - FRAME_HEADER_BYTES
  }

  /** Appends a frame, written straight into the buffer; false (and nothing appended) if it does not fit. */
  addFrame(frame: Frame): boolean {
    if (frameSizeBound(frame) - FRAME_HEADER_BYTES > this.dataRoom) return false
    const start = this.#offset + BATCH_ENTRY_PREFIX_BYTES
    const length = writeFrame(frame, this.#buffer, this.#view, start)
    this.#endEntry(length)
    return true
  }

  /** Appends a DATA frame whose payload is `payload` (or its parts joined), written straight into the buffer; the caller sized it to `dataRoom`. */
  addData(streamId: number, fin: boolean, payload: Uint8Array | readonly Uint8Array[]): void {
    const parts = payload instanceof Uint8Array ? [payload] : payload
    let bytes = 0
    for (const part of parts) bytes += part.byteLength
    if (bytes > this.dataRoom) throw new RangeError('a DATA frame larger than the room left in the batch')
    const start = this.#offset + BATCH_ENTRY_PREFIX_BYTES
    this.#buffer[start] = FrameType.data
    this.#buffer[start + 1] = fin ? FLAG_FIN : 0
    this.#view.setUint32(start + 2, streamId)
    let at = start + FRAME_HEADER_BYTES
    for (const part of parts) {
      this.#buffer.set(part, at)
      at += part.byteLength
    }
    this.#endEntry(FRAME_HEADER_BYTES + bytes)
  }

  /** The message to send: the lone frame itself, or the batch. */
  finish(): Uint8Array {
    if (this.#count === 1) return this.#buffer.subarray(BATCH_HEADER_BYTES + BATCH_ENTRY_PREFIX_BYTES, this.#offset)
    this.#buffer.fill(0, 0, BATCH_HEADER_BYTES)
    this.#buffer[0] = FrameType.batch
    return this.#buffer.subarray(0, this.#offset)
  }

  /** Writes the length prefix of the frame just written behind it. */
  #endEntry(length: number): void {
    this.#view.setUint16(this.#offset, length)
    this.#offset += BATCH_ENTRY_PREFIX_BYTES + length
    this.#count++
  }
}
