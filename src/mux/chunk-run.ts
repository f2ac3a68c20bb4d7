/**
 * A run of small received chunks of one stream, copied one after another into one buffer whatever
 * the message boundaries: complete small messages in a row, small chunks of one message, or both.
 * Message ends are (end offset, frames up to it) pairs in one growing Uint32Array, not an object
 * each, so a small message costs a few bytes here: under the DATA_FRAME_CREDIT_BYTES its frame cost
 * in credit. The reader takes one message (or the part of one that has arrived) at a time.
 */
import { DATA_FRAME_CREDIT_BYTES } from './frame.js'
import { GrowingBytes } from './growing-bytes.js'

/**
 * What one received chunk kept as a view costs beyond its bytes (a Uint8Array, its entry in the
 * stream): 190–245 B measured in Node 22, rounded up. Counted in the budget, so it sees the objects,
 * not only the payload.
 */
export const CHUNK_OVERHEAD_BYTES = 256

/** What a run costs beyond its buffers (its objects, the buffers' objects): about 550 B measured in Node 20, rounded up. */
export const RUN_OVERHEAD_BYTES = 640

/** Message ends not yet taken are compacted away once this many were taken and they are a quarter of those kept. */
const COMPACT_AFTER_ENDS = 64
/** Bytes already taken are dropped once there are this many and they are a quarter of the buffer. */
const COMPACT_AFTER_BYTES = 1024

/** What the reader takes from a run: a whole message, or the part of one that has arrived. */
export interface RunPiece {
  /** The run's own buffer when the piece is all of it (the run is used up), else a copy: a view would keep the whole run alive in the application. */
  bytes: GrowingBytes
  /** The piece ends its message. */
  fin: boolean
  /** The credit the peer spent on it: its bytes plus DATA_FRAME_CREDIT_BYTES per frame. */
  credit: number
  /** `bytes` is the run's own buffer (its memory goes with the piece); else a new copy. */
  whole: boolean
}

export class ChunkRun {
  #bytes: GrowingBytes
  /** Pairs for the message ends not yet taken, from `#endsHead`: [end offset in `#bytes`, frames appended up to it]. */
  #ends = new Uint32Array(4)
  #endsHead = 0
  #endsTail = 0
  /** The first byte not yet taken. */
  #start = 0
  /** Frames appended (counted from the last compaction), and how many of them were taken. */
  #frames = 0
  #framesTaken = 0

  constructor(first: Uint8Array, fin: boolean) {
    this.#bytes = new GrowingBytes(first)
    this.#frames = 1
    if (fin) this.#pushEnd()
  }

  /** The memory this run keeps alive. */
  get retained(): number {
    return RUN_OVERHEAD_BYTES + this.#bytes.capacity + this.#ends.byteLength
  }

  /** Nothing is left to take. */
  get isUsedUp(): boolean {
    return this.#start === this.#bytes.length && this.#endsHead === this.#endsTail
  }

  /** Appends a chunk (one DATA frame's payload) copied; `fin`: it ends its message. */
  append(chunk: Uint8Array, fin: boolean): void {
    this.#bytes.append(chunk)
    this.#frames++
    if (fin) this.#pushEnd()
  }

  /** Takes the next message, or the part of one that has arrived; call only when not used up. */
  take(): RunPiece {
    const fin = this.#endsHead < this.#endsTail
    const end = fin ? this.#ends[2 * this.#endsHead]! : this.#bytes.length
    const frames = fin ? this.#ends[2 * this.#endsHead + 1]! : this.#frames
    const start = this.#start
    const credit = end - start + DATA_FRAME_CREDIT_BYTES * (frames - this.#framesTaken)
    if (fin) this.#endsHead++
    this.#start = end
    this.#framesTaken = frames
    if (start === 0 && this.isUsedUp) return { bytes: this.#bytes, fin, credit, whole: true }
    const bytes = new GrowingBytes(this.#bytes.bytes.subarray(start, end))
    this.#compact()
    return { bytes, fin, credit, whole: false }
  }

  #pushEnd(): void {
    if (2 * this.#endsTail === this.#ends.length) {
      const grown = new Uint32Array(2 * this.#ends.length)
      grown.set(this.#ends)
      this.#ends = grown
    }
    this.#ends[2 * this.#endsTail] = this.#bytes.length
    this.#ends[2 * this.#endsTail + 1] = this.#frames
    this.#endsTail++
  }

  /**
   * Drops what was taken once it is a quarter of what is kept: a right-sized copy of the rest, so a
   * reader that stays a little behind neither grows the buffer without end nor keeps its capacity.
   * Each byte and end is copied at most about 4 times this way.
   */
  #compact(): void {
    const length = this.#bytes.length
    const bytesTaken = this.#start >= COMPACT_AFTER_BYTES && 4 * this.#start >= length
    const endsTaken = this.#endsHead >= COMPACT_AFTER_ENDS && 4 * this.#endsHead >= this.#endsTail
    if (!bytesTaken && !endsTaken) return
    const start = this.#start
    this.#bytes = new GrowingBytes(this.#bytes.bytes.subarray(start))
    const kept = this.#endsTail - this.#endsHead
    const ends = new Uint32Array(Math.max(4, 2 * 2 * kept))
    for (let i = 0; i < kept; i++) {
      ends[2 * i] = this.#ends[2 * (this.#endsHead + i)]! - start
      ends[2 * i + 1] = this.#ends[2 * (this.#endsHead + i) + 1]! - this.#framesTaken
    }
    this.#ends = ends
    this.#endsHead = 0
    this.#endsTail = kept
    this.#start = 0
    this.#frames -= this.#framesTaken
    this.#framesTaken = 0
  }
}
