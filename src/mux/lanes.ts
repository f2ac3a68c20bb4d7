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
 * earlier on the latency lane). The receiver then holds the bulk lane — that frame and every later
 * one, to keep the lane's order — until the OPEN has arrived. What an honest peer can put there is
 * bounded by the credit of the streams it has just opened; `maxHeldBytes` bounds what a hostile one
 * can, and past it the session fails with MUX_PROTOCOL_ERROR. A frame on the wrong lane (a control
 * frame on the bulk lane, a stream's DATA or CLOSE on the other lane than its OPEN named) is a
 * protocol error too.
 */
import type { Frame, StreamLane } from './frame.js'

/** The lanes, in the order the session's writers serve them. */
export const STREAM_LANES: readonly StreamLane[] = ['latency', 'bulk']

/** The frame types a bulk lane may carry: a bulk stream's DATA and CLOSE. */
export function allowedOnBulkLane(frame: Frame): frame is Extract<Frame, { type: 'data' | 'close' }> {
  return frame.type === 'data' || frame.type === 'close'
}

/**
 * Held bulk-lane frames may take this many of the receiver's stream windows (`initialWindowBytes`):
 * an honest peer exceeds one window per stream only by opening several bulk streams at once while
 * their OPENs are delayed, which a lost packet on the latency lane can do for a few at most.
 */
export const HELD_BULK_WINDOWS = 4

/**
 * What holding a frame costs beyond its bytes (the parsed frame object and its entry), counted
 * against `maxHeldBytes` so that a flood of 6-byte CLOSE frames is bounded by memory, not bytes.
 */
export const HELD_FRAME_OVERHEAD_BYTES = 128

/** A bulk-lane frame waiting for its stream's OPEN, and the bytes it keeps alive. */
interface HeldFrame {
  frame: Extract<Frame, { type: 'data' | 'close' }>
  bytes: number
}

/** Bulk-lane frames held, in arrival order, until what they wait for has arrived on the latency lane. */
export class BulkLaneHold {
  #frames: HeldFrame[] = []
  #head = 0
  #bytes = 0

  constructor(readonly maxHeldBytes: number) {}

  get isEmpty(): boolean {
    return this.#head === this.#frames.length
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes
  }

  /** Holds `frame` (`frameBytes`: its size on the wire); false when that would pass `maxHeldBytes` (nothing held then). */
  hold(frame: Extract<Frame, { type: 'data' | 'close' }>, frameBytes: number): boolean {
    const bytes = frameBytes + HELD_FRAME_OVERHEAD_BYTES
    if (this.#bytes + bytes > this.maxHeldBytes) return false
    this.#frames.push({ frame, bytes })
    this.#bytes += bytes
    return true
  }

  peek(): Extract<Frame, { type: 'data' | 'close' }> | undefined {
    return this.#frames[this.#head]?.frame
  }

  shift(): void {
    const held = this.#frames[this.#head]
    if (!held) return
    this.#frames[this.#head++] = undefined as unknown as HeldFrame
    this.#bytes -= held.bytes
    if (this.#head === this.#frames.length) {
      this.#frames = []
      this.#head = 0
    }
  }

  clear(): void {
    this.#frames = []
    this.#head = 0
    this.#bytes = 0
  }
}
