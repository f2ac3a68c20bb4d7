/**
 * The session's control frames waiting for the link, in order, coalesced so that what a peer
 * provokes without reading stays small: one pending PONG (a newer PING replaces its payload: the
 * peer learns the session is alive either way), and one pending CREDIT per stream (a newer one adds
 * its increment). The frames the peer provoked (queued while the session handled its frames: PONGs,
 * RESETs answering its OPENs, …) are counted apart, and the session holds that count to
 * `maxQueuedControlFrames`: what this side queues on its own (OPENs of a burst of calls) is bounded
 * by its own callers, and must not be mistaken for a peer that does not read.
 */
import type { Frame } from './frame.js'

type CreditFrame = Extract<Frame, { type: 'credit' }>
type PongFrame = Extract<Frame, { type: 'pong' }>

const MAX_CREDIT_INCREMENT = 0xffffffff

export class ControlQueue {
  #frames: Frame[] = []
  #head = 0
  #pendingPong?: PongFrame
  readonly #pendingCredit = new Map<number, CreditFrame>()
  readonly #provoked = new Set<Frame>()

  get length(): number {
    return this.#frames.length - this.#head
  }

  /** Queued frames that the peer provoked. */
  get provokedLength(): number {
    return this.#provoked.size
  }

  /** Queues `frame`; `provoked`: the peer's frames made this side write it. */
  push(frame: Frame, provoked = false): void {
    if (frame.type === 'pong' && this.#pendingPong) {
      this.#pendingPong.payload = frame.payload
      return
    }
    if (frame.type === 'credit') {
      const pending = this.#pendingCredit.get(frame.streamId)
      if (pending && pending.increment + frame.increment <= MAX_CREDIT_INCREMENT) {
        pending.increment += frame.increment
        return
      }
    }
    // Copies of the frames that coalesce, so that changing them never touches the caller's object.
    const queued = frame.type === 'pong' || frame.type === 'credit' ? { ...frame } : frame
    if (queued.type === 'pong') this.#pendingPong = queued
    if (queued.type === 'credit') this.#pendingCredit.set(queued.streamId, queued)
    this.#frames.push(queued)
    if (provoked) this.#provoked.add(queued)
  }

  peek(): Frame | undefined {
    return this.#frames[this.#head]
  }

  shift(): Frame | undefined {
    const frame = this.#frames[this.#head]
    if (!frame) return undefined
    this.#frames[this.#head++] = undefined as unknown as Frame
    this.#provoked.delete(frame)
    if (frame === this.#pendingPong) this.#pendingPong = undefined
    if (frame.type === 'credit' && this.#pendingCredit.get(frame.streamId) === frame) this.#pendingCredit.delete(frame.streamId)
    // Drop the consumed front now and then, so shifting stays O(1) on average.
    if (this.#head > 64 && this.#head * 2 > this.#frames.length) {
      this.#frames = this.#frames.slice(this.#head)
      this.#head = 0
    }
    return frame
  }

  clear(): void {
    this.#frames = []
    this.#head = 0
    this.#pendingPong = undefined
    this.#pendingCredit.clear()
    this.#provoked.clear()
  }
}
