/**
 * Which link lane each frame travels on (mux version 4), and the receiving side's hold for bulk-lane
 * frames that arrive before their stream's OPEN.
 *
 * A link has two ordered lanes (src/transport/link.ts): `latency` and `bulk`. The rule:
 * - every stream has one lane, both ways, named by the opener in its OPEN (flag BULK_LANE); its DATA
 *   and CLOSE travel on that lane only, so a stream's frames are never reordered;
 * - every other frame — HELLO, OPEN, CREDIT, STOP, RESET, PING, PONG, GOAWAY — travels on the latency
 *   lane, so credit, refusals and liveness never wait behind bulk data, and an OPEN is always ahead
 *   of any value on the latency lane that names the stream (a port id inside a call or a message).
 *
 * The lanes may overtake each other, so a bulk stream's first DATA can arrive before its OPEN (sent
 * earlier on the latency lane). The receiver then holds that stream's frames (and, before the HELLO,
 * every bulk-lane frame) until the OPEN has arrived; frames of streams already open go on at once,
 * since the protocol promises order per stream, not across streams. What an honest peer can put
 * there is the credit it legitimately has: one initial window per stream it opened that this side
 * has not seen yet, for at most `maxStreams` − the peer's streams open such ids; more is a
 * MUX_PROTOCOL_ERROR. Held frames are charged to the inbound budget (and so the mesh's pool) as
 * their bytes plus HELD_FRAME_OVERHEAD_BYTES each: a stream whose frames do not fit is refused
 * like an OPEN that does not fit (dropped, then reset with tooManyStreams when its OPEN comes).
 * A frame on the wrong lane (a control frame on the bulk lane, a stream's DATA or CLOSE on the
 * other lane than its OPEN named) is a protocol error too.
 */
import { DATA_FRAME_CREDIT_BYTES, type Frame, type StreamLane } from './frame.js'

/** The lanes, in the order the session's writers serve them. */
export const STREAM_LANES: readonly StreamLane[] = ['latency', 'bulk']

/** The frame types a bulk lane may carry: a bulk stream's DATA and CLOSE. */
export function allowedOnBulkLane(frame: Frame): frame is Extract<Frame, { type: 'data' | 'close' }> {
  return frame.type === 'data' || frame.type === 'close'
}

/**
 * What holding a frame costs beyond its bytes (the parsed frame object and its entry), counted
 * in the inbound budget so that a flood of tiny frames is bounded by memory, not bytes.
 */
export const HELD_FRAME_OVERHEAD_BYTES = 128

/** A held bulk-lane frame. */
export type HeldBulkFrame = Extract<Frame, { type: 'data' | 'close' }>

/** The frames held for one stream id, and what they cost. */
interface HeldStream {
  frames: HeldBulkFrame[]
  /** Memory: wire bytes plus HELD_FRAME_OVERHEAD_BYTES per frame (what the inbound budget is charged). */
  bytes: number
  /** Credit the DATA frames spent (payload plus DATA_FRAME_CREDIT_BYTES each): at most one initial window. */
  credit: number
  closed: boolean
}

/** Why a frame cannot be held (the session fails with MUX_PROTOCOL_ERROR), or how much it costs. */
export type HoldOutcome = { ok: true; bytes: number } | { ok: false; reason: string }

/**
 * Bulk-lane frames held per stream id (arrival order within each id) until what they wait for has
 * arrived on the latency lane. Per-stream order is what the protocol promises, so frames of other
 * streams are never held behind them. What a peer can put here is what it may send on streams it
 * has opened and this side has not yet seen: per id at most one initial window of credit (an
 * honest peer has no more before this side's CREDIT, which needs the OPEN) and one CLOSE, and at
 * most `maxIds()` ids (the streams the peer may still open). Memory is charged by the session in
 * its inbound budget; this class only keeps the frames and checks the rules.
 */
export class BulkLaneHold {
  #streams = new Map<number, HeldStream>()
  #bytes = 0

  /** `windowBytes`: the credit a stream starts with; `maxIds`: how many ids may be held now. */
  constructor(
    readonly windowBytes: number,
    private readonly maxIds: () => number,
  ) {}

  get isEmpty(): boolean {
    return this.#streams.size === 0
  }

  /** Bytes held now (wire bytes plus overhead). */
  get bytes(): number {
    return this.#bytes
  }

  /** Ids with frames held. */
  get ids(): IterableIterator<number> {
    return this.#streams.keys()
  }

  /** Whether frames of `id` are held. */
  has(id: number): boolean {
    return this.#streams.has(id)
  }

  /** What holding `frame` (`frameBytes` on the wire) would cost, or why it breaks the rules. Holds nothing. */
  check(frame: HeldBulkFrame, frameBytes: number): HoldOutcome {
    const held = this.#streams.get(frame.streamId)
    if (!held && this.#streams.size >= this.maxIds())
      return { ok: false, reason: `bulk-lane frames for more stream ids than the peer may open (${this.maxIds()}) before their OPEN` }
    if (held?.closed) return { ok: false, reason: `a ${frame.type} frame after the CLOSE of stream ${frame.streamId}` }
    const credit = frame.type === 'data' ? frame.payload.byteLength + DATA_FRAME_CREDIT_BYTES : 0
    if ((held?.credit ?? 0) + credit > this.windowBytes)
      return { ok: false, reason: `more than the ${this.windowBytes}-byte initial window on the bulk lane for stream ${frame.streamId} before its OPEN` }
    return { ok: true, bytes: frameBytes + HELD_FRAME_OVERHEAD_BYTES }
  }

  /** Holds `frame`, which `check` passed at `bytes`. */
  hold(frame: HeldBulkFrame, bytes: number): void {
    let held = this.#streams.get(frame.streamId)
    if (!held) this.#streams.set(frame.streamId, (held = { frames: [], bytes: 0, credit: 0, closed: false }))
    held.frames.push(frame)
    held.bytes += bytes
    if (frame.type === 'data') held.credit += frame.payload.byteLength + DATA_FRAME_CREDIT_BYTES
    else held.closed = true
    this.#bytes += bytes
  }

  /** Takes the frames held for `id`, in order, and the bytes they were charged. */
  take(id: number): { frames: HeldBulkFrame[]; bytes: number } | undefined {
    const held = this.#streams.get(id)
    if (!held) return undefined
    this.#streams.delete(id)
    this.#bytes -= held.bytes
    return { frames: held.frames, bytes: held.bytes }
  }

  clear(): void {
    this.#streams.clear()
    this.#bytes = 0
  }
}
