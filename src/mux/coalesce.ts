/**
 * When the session's writer starts. A frame queued while the writer is idle leaves a microtask later
 * with whatever the same code queued beside it (an OPEN and its DATA, a reply and its CLOSE): a lone
 * ping or call waits for nothing. Right after a message that had room left and came within
 * `BURST_GAP_MS` of the one before (a burst), though, the writer gathers: it waits until
 * `GATHER_QUIET_TURNS` microtask turns pass with no new frame (at most `GATHER_MAX_TURNS`), so the
 * rest of the burst leaves in one message.
 *
 * Why: a loop that awaits each `send` queues its next value some 10–20 microtask turns after the
 * previous one (the promise hops between the caller and the stream), so a writer that always starts
 * a turn after the first frame sends every value in its own data-channel message — and one costs far
 * more than a turn: in Chromium tens of microseconds for `RTCDataChannel.send` and as much for the
 * receiving event, against about 0.3 µs per turn. Gathering costs the frames of a burst at most a few
 * microseconds, and a writer that gathers nothing a few microseconds of CPU — which lone messages
 * (pings, calls, anything further apart than BURST_GAP_MS) do not spend.
 *
 * Only microtasks: never a timer or a task, so nothing waits for other events or for the clock.
 */

/** Turns in a row with no new frame after which a gathering writer starts. */
export const GATHER_QUIET_TURNS = 40
/** Turns a gathering writer waits at most, however many frames keep coming. */
export const GATHER_MAX_TURNS = 512
/** Messages closer together than this are a burst, worth gathering after. */
export const BURST_GAP_MS = 0.25

export class Coalescer {
  #fresh = false
  #quiet = 0
  #turns = 0
  #quietTurns = 0
  #lastMessageAt = Number.NEGATIVE_INFINITY

  constructor(private readonly write: () => void) {}

  /** A frame was queued: a gathering writer's wait for quiet starts over. */
  noteFrame(): void {
    this.#fresh = true
  }

  /** `write` runs a microtask from now. */
  startNow(): void {
    this.#start(0)
  }

  /**
   * After a message with room left: if it came within BURST_GAP_MS of the one before, `write` runs
   * once no frame has come for GATHER_QUIET_TURNS turns (at most GATHER_MAX_TURNS), and this returns
   * true; otherwise false (the writer goes idle, and the next frame starts it at once).
   */
  gatherIfBurst(): boolean {
    const now = performance.now()
    const burst = now - this.#lastMessageAt < BURST_GAP_MS
    this.#lastMessageAt = now
    if (burst) this.#start(GATHER_QUIET_TURNS)
    return burst
  }

  #start(quietTurns: number): void {
    this.#fresh = false
    this.#quiet = 0
    this.#turns = 0
    this.#quietTurns = quietTurns
    queueMicrotask(this.#turn)
  }

  #turn = (): void => {
    if (this.#fresh) {
      this.#fresh = false
      this.#quiet = 0
    } else this.#quiet++
    if (this.#quiet < this.#quietTurns && ++this.#turns < GATHER_MAX_TURNS) queueMicrotask(this.#turn)
    else this.write()
  }
}
