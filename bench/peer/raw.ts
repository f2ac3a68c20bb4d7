/**
 * The raw baseline: a pre-negotiated RTCDataChannel (id 1) on the same SCTP association as the
 * library's link, driven the way an application without a scheduler would drive it — send while
 * `bufferedAmount` is under a high mark, then wait until it is under a low one.
 *
 * Messages carry a one-byte type. Requests go a→b (bulk, end-of-bulk, ping, small, end-of-small);
 * replies have the high bit set and carry what the responder counted. Both sides respond; the
 * runner measures from the initiating side only.
 */
import { now, sleep, withTimeout, yieldToEventLoop } from './clock.js'
import { filled, pingPayload, pingSeq } from './payloads.js'
import { medianInPlace, PING_DISCARD, summarize, type PingResult, type SmallResult, type ThroughputResult } from './stats.js'

const RAW_BULK = 0x01
const RAW_BULK_END = 0x02
const RAW_PING = 0x03
const RAW_SMALL = 0x04
const RAW_SMALL_END = 0x05
const RAW_BULK_ACK = 0x82
const RAW_PONG = 0x83
const RAW_SMALL_ACK = 0x85

/** The baseline's backpressure: send while bufferedAmount is under HIGH, then wait until it is under LOW. */
const RAW_HIGH_BYTES = 1024 * 1024
const RAW_LOW_BYTES = 512 * 1024
const RAW_BULK_MESSAGE_BYTES = 16 * 1024

/** What a responder counted, and the longest time between two arrivals (a stall of the link shows here). */
interface RawAck {
  count: number
  maxGapMs: number
}

export class RawBaseline {
  readonly opened: Promise<void>
  // responder state
  #bulkBytes = 0
  #smallCount = 0
  #lastAt = 0
  #maxGapMs = 0
  // sender state
  #ackWaiters = new Map<number, (ack: RawAck) => void>()
  #pongListener?: (seq: number, at: number) => void
  #lastYieldAt = 0

  constructor(private readonly channel: RTCDataChannel) {
    channel.binaryType = 'arraybuffer'
    channel.onmessage = (event: MessageEvent) => this.#onMessage(new Uint8Array(event.data as ArrayBuffer))
    this.opened = new Promise<void>((resolve, reject) => {
      if (channel.readyState === 'open') return resolve()
      channel.onopen = () => resolve()
      channel.onerror = () => reject(new Error('the raw data channel failed'))
    })
  }

  close(): void {
    this.channel.close()
  }

  // ── measurements (the initiating side) ─────────────────────────────────────

  /** 16 KiB messages as fast as a bufferedAmount loop allows, for `durationMs`, then until the peer has them all. */
  async throughput(durationMs: number, highBytes = RAW_HIGH_BYTES, lowBytes = RAW_LOW_BYTES): Promise<ThroughputResult> {
    const channel = this.channel
    const message = filled(RAW_BULK_MESSAGE_BYTES, RAW_BULK)
    let sentBytes = 0
    const started = now()
    while (now() - started < durationMs) {
      for (let burst = 0; burst < 64 && channel.bufferedAmount < highBytes; burst++) {
        channel.send(message)
        sentBytes += message.byteLength
      }
      await this.#room(highBytes, lowBytes)
    }
    const { count: receivedBytes, maxGapMs } = await this.#end(RAW_BULK_END, RAW_BULK_ACK)
    const ms = now() - started
    return { sentBytes, receivedBytes, ms, mbps: receivedBytes / ms / 1000, maxGapMs }
  }

  /**
   * 64-byte pings, one every `intervalMs`, echoed by the peer. With `queuedBytes`, a filler keeps at
   * least that much bulk data queued in the same channel (what an application without a scheduler
   * does), so each ping waits behind it — unless the pings go `via` another channel (a second SCTP
   * stream of the same association: whether its queue is served beside the first one's is what the
   * lane probe measures).
   */
  async ping(pings: number, intervalMs: number, queuedBytes: number, via: RawBaseline = this): Promise<PingResult> {
    const channel = this.channel
    const bulk = filled(RAW_BULK_MESSAGE_BYTES, RAW_BULK)
    let stopFiller = false
    let bulkSent = 0
    const fillerStarted = now()
    const filler = (async () => {
      if (queuedBytes === 0) return
      while (!stopFiller) {
        for (let burst = 0; burst < 64 && channel.bufferedAmount < queuedBytes + RAW_HIGH_BYTES; burst++) {
          channel.send(bulk)
          bulkSent += bulk.byteLength
        }
        await this.#room(queuedBytes + RAW_HIGH_BYTES, queuedBytes)
      }
    })()
    if (queuedBytes > 0) await sleep(300)

    const total = pings + PING_DISCARD
    const sentAt = new Map<number, number>()
    const queuedAt: number[] = []
    const rtts: number[] = []
    let resolveAll!: () => void
    const allBack = new Promise<void>((resolve) => (resolveAll = resolve))
    let back = 0
    via.#pongListener = (seq, at) => {
      const sent = sentAt.get(seq)
      if (sent === undefined) return
      if (seq >= PING_DISCARD) rtts.push(at - sent)
      if (++back === total) resolveAll()
    }
    const seriesStarted = now()
    for (let seq = 0; seq < total; seq++) {
      const due = seriesStarted + seq * intervalMs
      if (due > now()) await sleep(due - now())
      const ping = pingPayload(RAW_PING, seq)
      if (seq >= PING_DISCARD) queuedAt.push(channel.bufferedAmount)
      sentAt.set(seq, now())
      via.channel.send(ping)
    }
    await withTimeout(allBack, 60_000, 'raw pongs').catch(() => {})
    stopFiller = true
    await filler
    via.#pongListener = undefined
    let loadMBps: number | undefined
    let loadMaxGapMs: number | undefined
    if (queuedBytes > 0) {
      const { count: received, maxGapMs } = await this.#end(RAW_BULK_END, RAW_BULK_ACK)
      if (received !== bulkSent) throw new Error(`raw bulk lost data: sent ${bulkSent}, the peer got ${received}`)
      // Everything the filler queued, over the time until the peer had it all.
      loadMBps = received / (now() - fillerStarted) / 1000
      loadMaxGapMs = maxGapMs
    }
    return { ...summarize(rtts), loadMBps, loadMaxGapMs, queuedBytesMedian: medianInPlace(queuedAt), lost: total - back }
  }

  /** Small messages through the same bufferedAmount loop for `durationMs`; rate = messages the peer counted ÷ time until its ack. */
  async small(durationMs: number, messageBytes: number): Promise<SmallResult> {
    const channel = this.channel
    const message = filled(messageBytes, RAW_SMALL)
    let sent = 0
    const started = now()
    while (now() - started < durationMs) {
      for (let burst = 0; burst < 256 && channel.bufferedAmount < RAW_HIGH_BYTES; burst++) {
        channel.send(message)
        sent++
      }
      await this.#room(RAW_HIGH_BYTES, RAW_LOW_BYTES)
    }
    const { count: received } = await this.#end(RAW_SMALL_END, RAW_SMALL_ACK)
    const ms = now() - started
    return { sent, received, ms, perSecond: (received / ms) * 1000 }
  }

  /**
   * Round trips one at a time: `next()` sends a 64-byte ping and resolves on its pong (what a call is
   * compared to); `stop()` when done.
   */
  roundTrips(): { next: () => Promise<void>; stop: () => void } {
    let seq = 0
    const next = () => {
      const mine = seq++
      const ping = pingPayload(RAW_PING, mine)
      const back = new Promise<void>((resolve) => {
        this.#pongListener = (pong) => {
          if (pong === mine) resolve()
        }
      })
      this.channel.send(ping)
      return back
    }
    return { next, stop: () => (this.#pongListener = undefined) }
  }

  // ── the channel ────────────────────────────────────────────────────────────

  #onMessage(message: Uint8Array): void {
    switch (message[0]) {
      case RAW_BULK: {
        const at = now()
        if (this.#bulkBytes > 0) this.#maxGapMs = Math.max(this.#maxGapMs, at - this.#lastAt)
        this.#lastAt = at
        this.#bulkBytes += message.byteLength
        return
      }
      case RAW_BULK_END:
        this.#reply(RAW_BULK_ACK, this.#bulkBytes, this.#maxGapMs)
        this.#bulkBytes = 0
        this.#maxGapMs = 0
        return
      case RAW_PING:
        message[0] = RAW_PONG
        this.channel.send(message as Uint8Array<ArrayBuffer>)
        return
      case RAW_SMALL:
        this.#smallCount++
        return
      case RAW_SMALL_END:
        this.#reply(RAW_SMALL_ACK, this.#smallCount)
        this.#smallCount = 0
        return
      case RAW_PONG:
        this.#pongListener?.(pingSeq(message), now())
        return
      case RAW_BULK_ACK:
      case RAW_SMALL_ACK: {
        const waiter = this.#ackWaiters.get(message[0])
        this.#ackWaiters.delete(message[0])
        const view = new DataView(message.buffer, message.byteOffset)
        waiter?.({ count: view.getFloat64(1), maxGapMs: view.getFloat64(9) })
        return
      }
    }
  }

  #reply(type: number, count: number, maxGapMs = 0): void {
    const reply = new Uint8Array(17)
    reply[0] = type
    new DataView(reply.buffer).setFloat64(1, count)
    new DataView(reply.buffer).setFloat64(9, maxGapMs)
    this.channel.send(reply)
  }

  /**
   * Sends an end marker and resolves with what the peer counted (the channel is ordered: everything
   * before the marker has arrived) and, for bulk data, the longest gap between two arrivals.
   */
  #end(endType: number, ackType: number): Promise<RawAck> {
    const ack = new Promise<RawAck>((resolve) => this.#ackWaiters.set(ackType, resolve))
    this.channel.send(Uint8Array.of(endType))
    return withTimeout(ack, 60_000, 'raw end-of-transfer ack')
  }

  /**
   * After a burst of sends: if the channel holds `highBytes` or more, waits until it is down to
   * `lowBytes`; otherwise lets the event loop turn every 10 ms (events, timers) and goes on.
   */
  async #room(highBytes: number, lowBytes: number): Promise<void> {
    if (this.channel.bufferedAmount >= highBytes) {
      await this.#drain(lowBytes)
      this.#lastYieldAt = now()
    } else if (now() - this.#lastYieldAt > 10) {
      await yieldToEventLoop()
      this.#lastYieldAt = now()
    }
  }

  /** Waits until bufferedAmount is at most `bytes`: the bufferedamountlow event in browsers, polling (1 ms) in wrtc, which has no such event. */
  async #drain(bytes: number): Promise<void> {
    const channel = this.channel
    if (channel.bufferedAmount <= bytes) return
    if ('onbufferedamountlow' in channel) {
      channel.bufferedAmountLowThreshold = bytes
      await new Promise((resolve) => channel.addEventListener('bufferedamountlow', resolve, { once: true }))
      return
    }
    while ((channel as RTCDataChannel).bufferedAmount > bytes) await sleep(1)
  }
}

/** The mux ping and small-message workloads send the same payloads as the raw ones. */
export const PAYLOAD_TYPE = { ping: RAW_PING, small: RAW_SMALL } as const
