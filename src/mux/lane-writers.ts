/**
 * The session's writers, one per lane (lanes.ts): each packs what is ready for its lane into link
 * messages and hands them to the link, one at a time.
 *
 * - The latency writer takes control frames (OPEN, CREDIT, STOP, RESET, PING, PONG) first, then one
 *   chunk per ready latency-lane stream in turn (round-robin); the bulk writer one chunk per ready
 *   bulk-lane stream in turn. Each packs frames into one link message of at most `maxFrameBytes` (a
 *   batch, batch.ts), so an OPEN and its first DATA, or a burst of small messages, cost one
 *   data-channel message.
 * - A writer starts a microtask after a frame is queued while it is idle; right after a message that
 *   had room left, in a burst, it gathers the next one until frames stop coming for a few microtask
 *   turns (coalesce.ts), so values from a loop that awaits each send share a message too.
 * - It awaits the link's `send` on its lane, which waits while that lane holds more than its
 *   high-water mark: a small message never waits behind the bulk lane's buffer, and no buffer grows
 *   without bound.
 */
import type { Link } from '../transport/link.js'
import { BatchWriter } from './batch.js'
import { Coalescer } from './coalesce.js'
import type { ControlQueue } from './control-queue.js'
import { STREAM_LANES } from './lanes.js'
import type { StreamLane } from './frame.js'
import type { MuxStream, OutgoingFrame } from './stream.js'

/** A batch takes another stream chunk only while at least this many payload bytes fit. */
const MIN_BATCH_DATA_ROOM = 256

/** What the writers need from their session. */
export interface LaneWritersHost {
  link: Link
  /** The session's control frames: the latency writer sends them first. */
  control: ControlQueue
  /** False while the handshake is not done, or once the session ended: nothing is written then. */
  canWrite(): boolean
  isClosed(): boolean
  /** The link refused a message: the session ends. */
  linkRefused(error: unknown): void
}

export class LaneWriters {
  /** Streams with a frame to write, per lane (round-robin within each). */
  #ready: Record<StreamLane, Set<MuxStream>> = { latency: new Set(), bulk: new Set() }
  #writing: Record<StreamLane, boolean> = { latency: false, bulk: false }
  /** Per lane: holds the writer back while frames keep coming, so they leave together (coalesce.ts). */
  #coalescers: Record<StreamLane, Coalescer> = {
    latency: new Coalescer(() => void this.#write('latency')),
    bulk: new Coalescer(() => void this.#write('bulk')),
  }
  /** Per lane: whether the last message `#nextMessage` built stopped for want of room (not of frames). */
  #batchWasFull: Record<StreamLane, boolean> = { latency: false, bulk: false }
  #batches: Record<StreamLane, BatchWriter>

  constructor(
    private readonly host: LaneWritersHost,
    maxFrameBytes: number,
  ) {
    this.#batches = { latency: new BatchWriter(maxFrameBytes), bulk: new BatchWriter(maxFrameBytes) }
  }

  /** `stream` has a frame to write on its lane. */
  markReady(stream: MuxStream): void {
    this.#ready[stream.lane].add(stream)
    this.pump()
  }

  /** `stream` is gone: it writes nothing more. */
  forget(stream: MuxStream): void {
    for (const lane of STREAM_LANES) this.#ready[lane].delete(stream)
  }

  /** The session ended: nothing more is written. */
  clear(): void {
    for (const lane of STREAM_LANES) this.#ready[lane].clear()
  }

  /** Something was queued (a control frame, a stream's chunk): the writers that have work start. */
  pump(): void {
    for (const lane of STREAM_LANES) this.#coalescers[lane].noteFrame()
    if (!this.host.canWrite()) return
    for (const lane of STREAM_LANES) {
      if (this.#writing[lane] || (lane === 'bulk' && this.#ready.bulk.size === 0)) continue
      this.#writing[lane] = true
      // A microtask later, so what the same synchronous code queues (an OPEN and its DATA, a reply and
      // its CLOSE, several small messages) leaves in one link message.
      this.#coalescers[lane].startNow()
    }
  }

  async #write(lane: StreamLane): Promise<void> {
    let gathering = false
    try {
      for (;;) {
        if (this.host.isClosed()) return
        const message = this.#nextMessage(lane)
        if (!message) return
        // The message lives in the lane's batch writer's reused buffer: safe because this loop awaits
        // each send, and a Link has taken (copied) the bytes when its send resolves.
        await this.host.link.send(message, lane)
        // A message with room left, in a burst: what comes next is small too, and worth gathering.
        if (!this.#batchWasFull[lane] && !this.host.isClosed() && this.#coalescers[lane].gatherIfBurst()) {
          gathering = true
          return
        }
      }
    } catch (error) {
      this.host.linkRefused(error)
    } finally {
      // Gathering, the writer stays claimed: the coalescer runs it again.
      if (!gathering) this.#writing[lane] = false
    }
  }

  /** Packs, for the latency lane, control frames first; then the lane's stream chunks round-robin, while they fit. */
  #nextMessage(lane: StreamLane): Uint8Array | undefined {
    const batch = this.#batches[lane]
    const control = this.host.control
    batch.reset()
    this.#batchWasFull[lane] = true
    for (;;) {
      const frame = lane === 'latency' ? control.peek() : undefined
      if (frame) {
        if (!batch.addFrame(frame)) break
        control.shift()
        continue
      }
      // Not worth splitting a chunk into a sliver to fill the batch's last bytes.
      const room = batch.dataRoom
      if (batch.count > 0 && room < MIN_BATCH_DATA_ROOM) break
      const next = this.#nextStreamFrame(lane, room)
      if (!next) {
        this.#batchWasFull[lane] = false
        break
      }
      if (next.type === 'data') batch.addData(next.streamId, next.fin, next.parts)
      else if (!batch.addFrame(next)) throw new Error(`a ${next.type} frame did not fit in ${room} bytes`)
    }
    return batch.count === 0 ? undefined : batch.finish()
  }

  /** The next stream frame of `lane`, round-robin: the first ready stream writes one frame and goes to the back if it has more. */
  #nextStreamFrame(lane: StreamLane, maxPayloadBytes: number): OutgoingFrame | undefined {
    const ready = this.#ready[lane]
    for (const stream of ready) {
      ready.delete(stream)
      const frame = stream.nextFrame(maxPayloadBytes)
      if (stream.hasWork) ready.add(stream)
      if (frame) return frame
    }
    return undefined
  }
}
