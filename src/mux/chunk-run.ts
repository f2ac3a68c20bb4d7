/**
 * A run of small received chunks of one stream, copied one after another whatever the message
 * boundaries: complete small messages in a row, small chunks of one message, or both. The bytes go
 * into blocks that are never regrown (each new block a quarter of what the run holds, up to
 * MAX_BLOCK_BYTES, so at most a quarter is unused) and are dropped once taken; message ends are
 * (end offset, frames up to it) pairs in one growing Uint32Array, not an object each. So a small
 * message costs a few bytes here, under the DATA_FRAME_CREDIT_BYTES its frame cost in credit, and
 * each byte is copied once on the way in. The reader takes one message (or the part of one that
 * has arrived) at a time.
 */
import { DATA_FRAME_CREDIT_BYTES } from './frame.js'
import { GrowingBytes } from './growing-bytes.js'

/**
 * What one received chunk kept as a view costs beyond its bytes (a Uint8Array, its entry in the
 * stream): 190–245 B measured in Node 22, rounded up. Counted in the budget, so it sees the objects,
 * not only the payload.
 */
export const CHUNK_OVERHEAD_BYTES = 256

/** What a run costs beyond its blocks and ends (its objects and arrays): about 550 B measured in Node 20, rounded up. */
export const RUN_OVERHEAD_BYTES = 640

/** What a block costs beyond its bytes (a Uint8Array and its ArrayBuffer). */
export const BLOCK_OVERHEAD_BYTES = 128

/** A run takes chunks while its bytes stay within this; then a new run starts (offsets stay small numbers). */
export const RUN_MAX_BYTES = 1024 * 1024

/** Blocks grow with the run up to this: large enough that a block's objects are under 1 % of it. */
const MAX_BLOCK_BYTES = 16 * 1024
/** The smallest new block: tiny chunks do not make a block each. */
const MIN_BLOCK_BYTES = 64
/** Message ends already taken are dropped once there are this many and they are a quarter of those kept. */
const COMPACT_AFTER_ENDS = 64

/** What the reader takes from a run: a whole message, or the part of one that has arrived. */
export interface RunPiece {
  /** The run's own block when the piece is all of it (the run is used up), else a copy: a view would keep the run's block alive in the application. */
  bytes: GrowingBytes
  /** The piece ends its message. */
  fin: boolean
  /** The credit the peer spent on it: its bytes plus DATA_FRAME_CREDIT_BYTES per frame. */
  credit: number
  /** `bytes` is the run's own block (its memory goes with the piece); else a new copy. */
  whole: boolean
}

export class ChunkRun {
  /** Blocks from `#blocksHead` on hold the bytes not yet taken; all but the last are full. */
  #blocks: Uint8Array[] = []
  #blocksHead = 0
  /** Where the head block starts, as an offset in the run. */
  #headBlockStart = 0
  /** Bytes written into the last block. */
  #lastFill = 0
  /** Bytes of the blocks kept. */
  #capacity = 0
  /** Bytes appended, and taken (offsets in the run). */
  #appended = 0
  #taken = 0
  /** Pairs for the message ends not yet taken, from `#endsHead`: [end offset, frames appended up to it]. */
  #ends = new Uint32Array(4)
  #endsHead = 0
  #endsTail = 0
  /** Frames appended (counted from the last compaction of the ends), and how many of them were taken. */
  #frames = 0
  #framesTaken = 0

  constructor(first: Uint8Array, fin: boolean) {
    this.append(first, fin)
  }

  /** The memory this run keeps alive. */
  get retained(): number {
    return RUN_OVERHEAD_BYTES + this.#capacity + (this.#blocks.length - this.#blocksHead) * BLOCK_OVERHEAD_BYTES + this.#ends.byteLength
  }

  /** Bytes appended so far (what RUN_MAX_BYTES bounds). */
  get byteLength(): number {
    return this.#appended
  }

  /** Nothing is left to take. */
  get isUsedUp(): boolean {
    return this.#taken === this.#appended && this.#endsHead === this.#endsTail
  }

  /** Appends a chunk (one DATA frame's payload) copied; `fin`: it ends its message. */
  append(chunk: Uint8Array, fin: boolean): void {
    let offset = 0
    while (offset < chunk.byteLength) {
      let block = this.#blocks[this.#blocks.length - 1]
      if (!block || this.#lastFill === block.byteLength) {
        // The rest of the chunk, or a quarter of the run so far: at most a quarter of it unused.
        const size = Math.max(chunk.byteLength - offset, Math.min(MAX_BLOCK_BYTES, Math.max(MIN_BLOCK_BYTES, Math.ceil(this.#appended / 4))))
        block = new Uint8Array(size)
        this.#blocks.push(block)
        this.#capacity += size
        this.#lastFill = 0
      }
      const count = Math.min(block.byteLength - this.#lastFill, chunk.byteLength - offset)
      block.set(chunk.subarray(offset, offset + count), this.#lastFill)
      this.#lastFill += count
      offset += count
    }
    this.#appended += chunk.byteLength
    this.#frames++
    if (fin) this.#pushEnd()
  }

  /** Takes the next message, or the part of one that has arrived; call only when not used up. */
  take(): RunPiece {
    const fin = this.#endsHead < this.#endsTail
    const end = fin ? this.#ends[2 * this.#endsHead]! : this.#appended
    const frames = fin ? this.#ends[2 * this.#endsHead + 1]! : this.#frames
    const start = this.#taken
    const credit = end - start + DATA_FRAME_CREDIT_BYTES * (frames - this.#framesTaken)
    if (fin) this.#endsHead++
    this.#framesTaken = frames
    const onlyBlock = this.#blocksHead === this.#blocks.length - 1 ? this.#blocks[this.#blocksHead] : undefined
    if (onlyBlock && start === this.#headBlockStart && end === this.#appended && this.#endsHead === this.#endsTail) {
      // All the run holds, in one block: handed over as it is.
      this.#taken = end
      return { bytes: GrowingBytes.adopt(onlyBlock, this.#lastFill), fin, credit, whole: true }
    }
    const head = this.#blocks[this.#blocksHead]
    const headIsFull = this.#blocksHead < this.#blocks.length - 1 || this.#lastFill === head?.byteLength
    if (head && headIsFull && start === this.#headBlockStart && end - start === head.byteLength) {
      // The piece is exactly the head block (a message as large as the blocks, as the first ones of a run are): no copy.
      this.#dropHeadBlock()
      this.#taken = end
      this.#compactEnds()
      return { bytes: GrowingBytes.adopt(head, head.byteLength), fin, credit, whole: false }
    }
    const copy = new Uint8Array(end - start)
    let at = 0
    while (this.#taken < end) {
      const block = this.#blocks[this.#blocksHead]!
      const from = this.#taken - this.#headBlockStart
      const count = Math.min(block.byteLength - from, end - this.#taken)
      copy.set(block.subarray(from, from + count), at)
      at += count
      this.#taken += count
      // A block taken to its end is dropped (the last one only once full: it still takes bytes).
      if (from + count === block.byteLength) this.#dropHeadBlock()
    }
    this.#compactEnds()
    return { bytes: GrowingBytes.adopt(copy, copy.byteLength), fin, credit, whole: false }
  }

  #dropHeadBlock(): void {
    const block = this.#blocks[this.#blocksHead]!
    this.#blocks[this.#blocksHead++] = undefined as unknown as Uint8Array
    this.#headBlockStart += block.byteLength
    this.#capacity -= block.byteLength
    if (this.#blocksHead > 64 && this.#blocksHead * 2 > this.#blocks.length) {
      this.#blocks = this.#blocks.slice(this.#blocksHead)
      this.#blocksHead = 0
    }
  }

  #pushEnd(): void {
    if (2 * this.#endsTail === this.#ends.length) {
      const grown = new Uint32Array(2 * this.#ends.length)
      grown.set(this.#ends)
      this.#ends = grown
    }
    this.#ends[2 * this.#endsTail] = this.#appended
    this.#ends[2 * this.#endsTail + 1] = this.#frames
    this.#endsTail++
  }

  /**
   * Drops the message ends already taken once they are a quarter of those kept, into a right-sized
   * array, so a reader that stays a little behind neither grows the array without end nor keeps its
   * size; frame counts restart from what was taken, so they stay small numbers.
   */
  #compactEnds(): void {
    if (this.#endsHead < COMPACT_AFTER_ENDS || 4 * this.#endsHead < this.#endsTail) return
    const kept = this.#endsTail - this.#endsHead
    const ends = new Uint32Array(Math.max(4, 2 * 2 * kept))
    for (let i = 0; i < kept; i++) {
      ends[2 * i] = this.#ends[2 * (this.#endsHead + i)]!
      ends[2 * i + 1] = this.#ends[2 * (this.#endsHead + i) + 1]! - this.#framesTaken
    }
    this.#ends = ends
    this.#endsHead = 0
    this.#endsTail = kept
    this.#frames -= this.#framesTaken
    this.#framesTaken = 0
  }
}
