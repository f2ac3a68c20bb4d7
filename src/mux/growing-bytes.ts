/**
 * Bytes appended in place, in a buffer that grows by a quarter when full: small received chunks kept
 * as one buffer rather than an object each (an object costs ~200 B, a 1-byte chunk 1 B), so what
 * they cost stays within 1.25 times their bytes (plus MIN_GROWN_BYTES) however finely the peer cut
 * them. Growing by a quarter rather than doubling copies each byte about 5 times instead of 2, and
 * keeps the unread data of a stream close to the credit it cost (docs/protocol.md, "Worst case").
 */
const GROWTH_FACTOR = 1.25
/** A buffer that grows is at least this large: tiny chunks do not regrow it at every append. */
const MIN_GROWN_BYTES = 64

export class GrowingBytes {
  #buffer: Uint8Array
  #length: number

  /**
   * Starts as a copy of `first`, exactly its size (a message in one small chunk wastes nothing); or,
   * given `adoptedLength`, as `first` itself (no copy) with that many bytes in use.
   */
  constructor(first: Uint8Array, adoptedLength?: number) {
    this.#buffer = adoptedLength === undefined ? first.slice() : first
    this.#length = adoptedLength ?? first.byteLength
  }

  /** Takes over `buffer` (no copy), whose first `length` bytes are in use. */
  static adopt(buffer: Uint8Array, length: number): GrowingBytes {
    return new GrowingBytes(buffer, length)
  }

  /** The bytes appended so far (a view: valid until the next `append`). */
  get bytes(): Uint8Array {
    return this.#buffer.subarray(0, this.#length)
  }

  get length(): number {
    return this.#length
  }

  /** The memory this keeps alive. */
  get capacity(): number {
    return this.#buffer.byteLength
  }

  /** Appends a copy of `bytes`; returns how much `capacity` grew. */
  append(bytes: Uint8Array): number {
    const needed = this.#length + bytes.byteLength
    const before = this.#buffer.byteLength
    if (needed > before) {
      const grown = new Uint8Array(Math.max(needed, Math.ceil(before * GROWTH_FACTOR), MIN_GROWN_BYTES))
      grown.set(this.#buffer.subarray(0, this.#length))
      this.#buffer = grown
    }
    this.#buffer.set(bytes, this.#length)
    this.#length = needed
    return this.#buffer.byteLength - before
  }
}
