/**
 * Bytes appended in place, in a buffer that doubles when full: the small received chunks of one
 * message kept as one buffer rather than an object each (an object costs ~200 B, a 1-byte chunk
 * 1 B), so what they cost stays within twice their bytes however finely the peer cut them.
 */
export class GrowingBytes {
  #buffer: Uint8Array
  #length: number

  /** Starts as a copy of `first`, exactly its size (a message in one small chunk wastes nothing). */
  constructor(first: Uint8Array) {
    this.#buffer = first.slice()
    this.#length = first.byteLength
  }

  /** The bytes appended so far (a view: valid until the next `append`). */
  get bytes(): Uint8Array {
    return this.#buffer.subarray(0, this.#length)
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
      const grown = new Uint8Array(Math.max(needed, 2 * before))
      grown.set(this.#buffer.subarray(0, this.#length))
      this.#buffer = grown
    }
    this.#buffer.set(bytes, this.#length)
    this.#length = needed
    return this.#buffer.byteLength - before
  }
}
