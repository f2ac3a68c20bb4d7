/**
 * When the session's writer starts. A frame queued while the writer is idle leaves a microtask later
 * with whatever the same code queued beside it (an OPEN and its DATA, a reply and its CLOSE): a lone
 * ping or call waits for nothing. Right after a message that had room left, though, the writer
 * gathers: it waits until `GATHER_QUIET_TURNS` microtask turns pass with no new frame (at most
 * `GATHER_MAX_TURNS`), so a burst leaves in one message.
 *
 * Why: a loop that awaits each `send` queues its next value some 10–20 microtask turns after the
 * previous one (the promise hops between the caller and the stream), so a writer that always starts
 * a turn after the first frame sends every value in its own data-channel message — and one costs far
 * more than a turn: in Chromium tens of microseconds for `RTCDataChannel.send` and as much for the
 * receiving event, against about 0.3 µs per turn. Gathering costs the frames of a burst at most a few
 * microseconds, and a writer that gathers nothing a few microseconds of CPU.
 *
 * Only microtasks: never a timer or a task, so nothing waits for other events or for the clock.
 */

/** Turns in a row with no new frame after which a gathering writer starts. */
export const GATHER_QUIET_TURNS = 40
/** Turns a gathering writer waits at most, however many frames keep coming. */
export const GATHER_MAX_TURNS = 512

export class Coalescer {
  #fresh = false
  #quiet = 0
  #turns = 0
  #quietTurns = 0

  constructor(private readonly write: () => void) {}

  /** A frame was queued: a gathering writer's wait for quiet starts over. */
  noteFrame(): void {
    this.#fresh = true
  }

  /** `write` runs a microtask from now. */
  startNow(): void {
    this.#start(0)
  }

  /** `write` runs once no frame has come for GATHER_QUIET_TURNS turns (at most GATHER_MAX_TURNS). */
  gather(): void {
    this.#start(GATHER_QUIET_TURNS)
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
