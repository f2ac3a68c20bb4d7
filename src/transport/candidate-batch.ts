/**
 * ICE candidates leave in batches: every candidate gathered within `windowMs` of the first one
 * waiting goes in one signal, so a link costs its signaling server a handful of messages instead of
 * one per candidate (four host candidates per side on a typical machine; more with STUN, IPv6, VPNs).
 * Each signal is signed and verified end to end and the server rate-limits them, so fewer, fuller
 * signals form a room faster (docs/architecture.md, "Forming a mesh"). Late candidates (STUN, TURN)
 * still trickle, one batch per window.
 */

/** One ICE candidate as it travels in a signal. */
export interface RtcCandidate {
  candidate: string
  sdpMid: string | null
  sdpMLineIndex: number | null
}

/** Most candidates one signal carries; a signal with more is refused (BAD_SIGNAL) by its receiver. */
export const MAX_CANDIDATES_PER_SIGNAL = 16

/**
 * How long the first candidate of a batch waits for more. Host candidates are gathered within a few
 * milliseconds of each other (wrtc: four in about 3 ms), so one window usually carries them all.
 */
export const CANDIDATE_BATCH_WINDOW_MS = 5

export class CandidateBatch {
  #waiting: RtcCandidate[] = []
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(
    private readonly flushTo: (candidates: RtcCandidate[]) => void,
    private readonly windowMs = CANDIDATE_BATCH_WINDOW_MS,
  ) {}

  /** Adds a candidate; a full batch leaves at once, otherwise when the window ends. */
  add(candidate: RtcCandidate): void {
    this.#waiting.push(candidate)
    if (this.#waiting.length >= MAX_CANDIDATES_PER_SIGNAL) return this.flush()
    this.#timer ??= setTimeout(() => this.flush(), this.windowMs)
  }

  /** Sends what is waiting now (gathering ended: nothing more will join this batch). */
  flush(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#waiting.length === 0) return
    const candidates = this.#waiting
    this.#waiting = []
    this.flushTo(candidates)
  }

  /** Drops what is waiting (the link closed). */
  clear(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#waiting = []
  }
}
