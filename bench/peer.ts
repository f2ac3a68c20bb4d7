/**
 * One side of a benchmark link — the same code runs in a Chromium tab and in a Node process.
 *
 * Each side holds one RTCPeerConnection (no STUN, host candidates only) with two pre-negotiated data
 * channels on its single SCTP association:
 * - id 0: the library's WebRtcLink, carrying a MuxSession and a channel Connection (the real stack);
 * - id 1: a raw RTCDataChannel for the baselines, driven the way an application without a scheduler
 *   would drive it (a bufferedAmount loop).
 * Sharing the association means raw and mux runs see the same congestion state and the same warm-up.
 *
 * Both sides install the responders (raw: a one-byte message type; mux: request streams carrying a
 * value with channel halves); the runner drives only the initiating side through `run`.
 */
import { Connection } from '../src/channels/connection.js'
import { bytes, mpsc, oneshot } from '../src/channels/index.js'
import type { MuxConfig } from '../src/mux/config.js'
import { MuxSession } from '../src/mux/session.js'
import type { MuxStream } from '../src/mux/stream.js'
import { WebRtcLink, type RtcPeerConnectionConstructor, type RtcSignal } from '../src/transport/webrtc-link.js'
import { Messaging } from '../src/mesh/messaging.js'
import { DEFAULT_PORTS } from '../src/mesh/ports.js'
import { peerRef, type PeerRef } from '../src/scope/here.js'
import { HOP_MAILBOX, hop, serveHop } from '../src/scope/hop.js'
import { defineHop } from '../src/scope/registry.js'

/** The block a hop round trip runs: it returns its payload, like the `bench.echo` mailbox. */
const echoBlock = defineHop('bench:echo', ({ payload }: { payload: Uint8Array }) => payload)

export type { RtcSignal }

export interface BenchPeerOptions {
  initiator: boolean
  RTCPeerConnection: RtcPeerConnectionConstructor
  sendSignal(signal: RtcSignal): void
  /** Diagnosis only (BENCH_TUNING): overrides of the library's defaults. The reported figures use none. */
  tuning?: BenchTuning
}

export interface BenchTuning {
  muxConfig?: Partial<MuxConfig>
  linkHighWaterMarkBytes?: number
}

/** Raw channel message types (first byte). Requests go A→B, replies have the high bit set. */
const RAW_BULK = 0x01
const RAW_BULK_END = 0x02
const RAW_PING = 0x03
const RAW_SMALL = 0x04
const RAW_SMALL_END = 0x05
const RAW_BULK_ACK = 0x82
const RAW_PONG = 0x83
const RAW_SMALL_ACK = 0x85

/** The raw baseline's backpressure: send while bufferedAmount is under HIGH, then wait until it is under LOW. */
const RAW_HIGH_BYTES = 1024 * 1024
const RAW_LOW_BYTES = 512 * 1024
const RAW_BULK_MESSAGE_BYTES = 16 * 1024
const PING_BYTES = 64
/** Pings at the start of a series that are not counted (port setup, first frames on a new stream). */
const PING_DISCARD = 5

const now = () => performance.now()
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** One turn of the event loop without a timer's minimum delay (a MessageChannel task, in browsers and Node). */
const yieldChannel = new MessageChannel()
const yieldWaiters: Array<() => void> = []
yieldChannel.port1.onmessage = () => yieldWaiters.shift()?.()
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    yieldWaiters.push(resolve)
    yieldChannel.port2.postMessage(0)
  })
}

/** Requests carried to the peer's mux responder, with channel halves inside. */
type MuxRequest =
  | { op: 'sink'; data: bytes.ByteReceiver; done: oneshot.Sender<SinkReply>; readMBps?: number }
  | { op: 'streamSink'; done: oneshot.Sender<SinkReply> }
  | { op: 'echo'; pings: mpsc.Receiver<Uint8Array>; pongs: mpsc.Sender<Uint8Array> }
  | { op: 'count'; messages: mpsc.Receiver<Uint8Array>; done: oneshot.Sender<number> }

/** What a receiver counted, and the longest time between two arrivals (a stall of the link shows here). */
interface RawAck {
  count: number
  maxGapMs: number
}
type SinkReply = RawAck

export interface ThroughputResult {
  sentBytes: number
  receivedBytes: number
  ms: number
  mbps: number
  /** The longest time between two arrivals at the receiver (a stall of the link shows here). */
  maxGapMs?: number
}

export interface PingResult {
  count: number
  p50: number
  p99: number
  max: number
  mean: number
  /** Bulk throughput while the pings ran (MB/s), to show the load was real. */
  loadMBps?: number
  /** The longest gap between two bulk arrivals at the peer: a link stall during the series shows here. */
  loadMaxGapMs?: number
  /** Raw only: bytes queued in the data channel when each ping was sent (median). */
  queuedBytesMedian?: number
  lost?: number
}

export interface SmallResult {
  sent: number
  received: number
  ms: number
  perSecond: number
}

function filled(length: number, type: number): Uint8Array<ArrayBuffer> {
  const data = new Uint8Array(length)
  for (let i = 0; i < length; i++) data[i] = (i * 31 + 7) & 0xff
  data[0] = type
  return data
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)
  return sorted[Math.max(0, index)]!
}

function summarize(rtts: number[]): Pick<PingResult, 'count' | 'p50' | 'p99' | 'max' | 'mean'> {
  const sorted = [...rtts].sort((a, b) => a - b)
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
    mean: sorted.reduce((sum, x) => sum + x, 0) / Math.max(1, sorted.length),
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)))
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export class BenchPeer {
  readonly ready: Promise<void>
  readonly link: WebRtcLink
  #pc!: RTCPeerConnection
  #raw: RTCDataChannel
  #session!: MuxSession
  #connection!: Connection
  /** The mesh's messaging (calls, hops) over this link's connection. */
  #messaging!: Messaging
  #otherId = ''
  #hopPeer!: PeerRef
  // raw responder state
  #rawBulkBytes = 0
  #rawSmallCount = 0
  #rawAckWaiters = new Map<number, (ack: RawAck) => void>()
  #rawLastAt = 0
  #rawMaxGapMs = 0
  #rawPongListener?: (seq: number, at: number) => void
  #closing = false
  #lastYieldAt = 0
  /** Rejects when the link dies under a measurement (e.g. the session's idle timeout after a long stall). */
  #failed: Promise<never>
  #fail!: (error: Error) => void
  /** Why the link died, if it did (the runner reports it with the incident). */
  failure: string | undefined

  constructor(options: BenchPeerOptions) {
    this.#failed = new Promise<never>((_, reject) => (this.#fail = reject))
    this.#failed.catch(() => {})
    // Capture the connection the link creates, to open the raw channel beside its own.
    const Base = options.RTCPeerConnection
    const captured: RTCPeerConnection[] = []
    const Capturing = function (this: unknown, configuration?: RTCConfiguration) {
      const pc = new Base(configuration)
      captured.push(pc)
      return pc
    } as unknown as RtcPeerConnectionConstructor
    const link = new WebRtcLink({
      initiator: options.initiator,
      RTCPeerConnection: Capturing,
      iceServers: [],
      sendSignal: options.sendSignal,
      ...(options.tuning?.linkHighWaterMarkBytes ? { highWaterMarkBytes: options.tuning.linkHighWaterMarkBytes } : {}),
    })
    this.link = link
    this.#pc = captured[0]!
    this.#raw = this.#pc.createDataChannel('bench-raw', { negotiated: true, id: 1, ordered: true })
    this.#raw.binaryType = 'arraybuffer'
    this.#raw.onmessage = (event: MessageEvent) => this.#onRawMessage(new Uint8Array(event.data as ArrayBuffer))
    const rawOpen = new Promise<void>((resolve, reject) => {
      if (this.#raw.readyState === 'open') return resolve()
      this.#raw.onopen = () => resolve()
      this.#raw.onerror = () => reject(new Error('the raw data channel failed'))
    })
    this.ready = (async () => {
      await link.opened
      this.#session = new MuxSession(link, { initiator: options.initiator, config: options.tuning?.muxConfig ?? {} })
      const selfId = (options.initiator ? 'a' : 'b').repeat(32)
      this.#otherId = (options.initiator ? 'b' : 'a').repeat(32)
      this.#connection = new Connection(this.#session, { peerId: this.#otherId, ports: DEFAULT_PORTS })
      this.#messaging = new Messaging({
        id: () => selfId,
        connectionTo: (id) => (id === this.#otherId ? this.#connection : undefined),
        assertOpen: () => {},
        report: (error) => console.error('[bench] messaging', error.code, error.message),
      })
      this.#messaging.register('bench.echo', (value) => value)
      const transport = { id: selfId, call: (peerId: string, name: string, value: unknown) => this.#messaging.call(peerId, name, value) }
      this.#messaging.register(HOP_MAILBOX, (request, context) => serveHop(request, context, transport, undefined))
      this.#hopPeer = peerRef(transport, this.#otherId)
      this.#session.events.on('stream', (stream) => void this.#serve(stream).catch((error) => console.error('[bench] responder failed', error)))
      this.#session.events.on('close', (info) => {
        if (this.#closing) return
        const message = `${options.initiator ? 'a' : 'b'}: the mux session ended (${info.reason}: ${info.message})`
        this.failure ??= message
        this.#fail(new Error(message))
      })
      await Promise.all([this.#session.ready, rawOpen])
    })()
  }

  acceptSignal(signal: RtcSignal): Promise<void> {
    return this.link.acceptSignal(signal)
  }

  close(): void {
    this.#closing = true
    this.#session?.abort('benchmark over')
    try {
      this.#raw.close()
      this.#pc.close()
    } catch {
      // already closed
    }
  }

  /** Runs one measurement by name (the runner's entry point); rejects if the link dies meanwhile. */
  run(op: string, args: Record<string, number>): Promise<unknown> {
    return Promise.race([this.#measure(op, args), this.#failed])
  }

  #measure(op: string, args: Record<string, number>): Promise<unknown> {
    switch (op) {
      case 'rawThroughput':
        return this.rawThroughput(args.durationMs!, args.highBytes, args.lowBytes)
      case 'muxBytesThroughput':
        return this.muxBytesThroughput(args.durationMs!)
      case 'muxStreamThroughput':
        return this.muxStreamThroughput(args.durationMs!)
      case 'rawPing':
        return this.rawPing(args.pings!, args.intervalMs!, args.queuedBytes ?? 0)
      case 'muxPing':
        return this.muxPing(args.pings!, args.intervalMs!, Boolean(args.load))
      case 'rawSmall':
        return this.rawSmall(args.durationMs!, args.messageBytes!)
      case 'muxSmall':
        return this.muxSmall(args.durationMs!, args.messageBytes!)
      case 'interleavedRtt':
        return this.interleavedRtt(args.calls!)
      case 'callsPerSecond':
        return this.callsPerSecond(args.inFlight!, args.durationMs!)
      case 'slowReceiver':
        return this.slowReceiver(args.totalBytes!, args.readMBps!)
      default:
        return Promise.reject(new Error(`unknown op ${op}`))
    }
  }

  // ── raw data channel ───────────────────────────────────────────────────────

  #onRawMessage(message: Uint8Array): void {
    switch (message[0]) {
      case RAW_BULK: {
        const at = now()
        if (this.#rawBulkBytes > 0) this.#rawMaxGapMs = Math.max(this.#rawMaxGapMs, at - this.#rawLastAt)
        this.#rawLastAt = at
        this.#rawBulkBytes += message.byteLength
        return
      }
      case RAW_BULK_END:
        this.#rawReply(RAW_BULK_ACK, this.#rawBulkBytes, this.#rawMaxGapMs)
        this.#rawBulkBytes = 0
        this.#rawMaxGapMs = 0
        return
      case RAW_PING:
        message[0] = RAW_PONG
        this.#raw.send(message as Uint8Array<ArrayBuffer>)
        return
      case RAW_SMALL:
        this.#rawSmallCount++
        return
      case RAW_SMALL_END:
        this.#rawReply(RAW_SMALL_ACK, this.#rawSmallCount)
        this.#rawSmallCount = 0
        return
      case RAW_PONG:
        this.#rawPongListener?.(new DataView(message.buffer, message.byteOffset).getUint32(1), now())
        return
      case RAW_BULK_ACK:
      case RAW_SMALL_ACK: {
        const waiter = this.#rawAckWaiters.get(message[0])
        this.#rawAckWaiters.delete(message[0])
        const view = new DataView(message.buffer, message.byteOffset)
        waiter?.({ count: view.getFloat64(1), maxGapMs: view.getFloat64(9) })
        return
      }
    }
  }

  #rawReply(type: number, count: number, maxGapMs = 0): void {
    const reply = new Uint8Array(17)
    reply[0] = type
    new DataView(reply.buffer).setFloat64(1, count)
    new DataView(reply.buffer).setFloat64(9, maxGapMs)
    this.#raw.send(reply)
  }

  /**
   * Sends an end marker and resolves with what the peer counted (the channel is ordered: everything
   * before the marker has arrived) and, for bulk data, the longest gap between two arrivals.
   */
  #rawEnd(endType: number, ackType: number): Promise<RawAck> {
    const ack = new Promise<RawAck>((resolve) => this.#rawAckWaiters.set(ackType, resolve))
    this.#raw.send(Uint8Array.of(endType))
    return withTimeout(ack, 60_000, 'raw end-of-transfer ack')
  }

  /**
   * After a burst of sends: if the channel holds `highBytes` or more, waits until it is down to
   * `lowBytes`; otherwise lets the event loop turn every 10 ms (events, timers) and goes on.
   */
  async #rawRoom(highBytes: number, lowBytes: number): Promise<void> {
    if (this.#raw.bufferedAmount >= highBytes) {
      await this.#rawDrain(lowBytes)
      this.#lastYieldAt = now()
    } else if (now() - this.#lastYieldAt > 10) {
      await yieldToEventLoop()
      this.#lastYieldAt = now()
    }
  }

  /** Waits until bufferedAmount is at most `bytes`: the bufferedamountlow event in browsers, polling (1 ms) in wrtc, which has no such event. */
  async #rawDrain(bytes: number): Promise<void> {
    const channel = this.#raw
    if (channel.bufferedAmount <= bytes) return
    if ('onbufferedamountlow' in channel) {
      channel.bufferedAmountLowThreshold = bytes
      await new Promise((resolve) => channel.addEventListener('bufferedamountlow', resolve, { once: true }))
      return
    }
    while ((channel as RTCDataChannel).bufferedAmount > bytes) await sleep(1)
  }

  /** 16 KiB messages as fast as a bufferedAmount loop allows, for `durationMs`, then until the peer has them all. */
  async rawThroughput(durationMs: number, highBytes = RAW_HIGH_BYTES, lowBytes = RAW_LOW_BYTES): Promise<ThroughputResult> {
    const channel = this.#raw
    const message = filled(RAW_BULK_MESSAGE_BYTES, RAW_BULK)
    let sentBytes = 0
    const started = now()
    while (now() - started < durationMs) {
      for (let burst = 0; burst < 64 && channel.bufferedAmount < highBytes; burst++) {
        channel.send(message)
        sentBytes += message.byteLength
      }
      await this.#rawRoom(highBytes, lowBytes)
    }
    const { count: receivedBytes, maxGapMs } = await this.#rawEnd(RAW_BULK_END, RAW_BULK_ACK)
    const ms = now() - started
    return { sentBytes, receivedBytes, ms, mbps: receivedBytes / ms / 1000, maxGapMs }
  }

  /**
   * 64-byte pings on the raw channel, one every `intervalMs`, echoed by the peer. With `queuedBytes`,
   * a filler keeps at least that much bulk data queued in the same channel (what an application
   * without a scheduler does), so each ping waits behind it.
   */
  async rawPing(pings: number, intervalMs: number, queuedBytes: number): Promise<PingResult> {
    const channel = this.#raw
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
        await this.#rawRoom(queuedBytes + RAW_HIGH_BYTES, queuedBytes)
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
    this.#rawPongListener = (seq, at) => {
      const sent = sentAt.get(seq)
      if (sent === undefined) return
      if (seq >= PING_DISCARD) rtts.push(at - sent)
      if (++back === total) resolveAll()
    }
    const seriesStarted = now()
    for (let seq = 0; seq < total; seq++) {
      const due = seriesStarted + seq * intervalMs
      if (due > now()) await sleep(due - now())
      const ping = filled(PING_BYTES, RAW_PING)
      new DataView(ping.buffer).setUint32(1, seq)
      if (seq >= PING_DISCARD) queuedAt.push(channel.bufferedAmount)
      sentAt.set(seq, now())
      channel.send(ping)
    }
    await withTimeout(allBack, 60_000, 'raw pongs').catch(() => {})
    stopFiller = true
    await filler
    this.#rawPongListener = undefined
    let loadMBps: number | undefined
    let loadMaxGapMs: number | undefined
    if (queuedBytes > 0) {
      const { count: received, maxGapMs } = await this.#rawEnd(RAW_BULK_END, RAW_BULK_ACK)
      if (received !== bulkSent) throw new Error(`raw bulk lost data: sent ${bulkSent}, the peer got ${received}`)
      // Everything the filler queued, over the time until the peer had it all.
      loadMBps = received / (now() - fillerStarted) / 1000
      loadMaxGapMs = maxGapMs
    }
    queuedAt.sort((a, b) => a - b)
    return { ...summarize(rtts), loadMBps, loadMaxGapMs, queuedBytesMedian: queuedAt[queuedAt.length >> 1], lost: total - back }
  }

  /** 100-byte messages through the same bufferedAmount loop for `durationMs`; rate = messages the peer counted ÷ time until its ack. */
  async rawSmall(durationMs: number, messageBytes: number): Promise<SmallResult> {
    const channel = this.#raw
    const message = filled(messageBytes, RAW_SMALL)
    let sent = 0
    const started = now()
    while (now() - started < durationMs) {
      for (let burst = 0; burst < 256 && channel.bufferedAmount < RAW_HIGH_BYTES; burst++) {
        channel.send(message)
        sent++
      }
      await this.#rawRoom(RAW_HIGH_BYTES, RAW_LOW_BYTES)
    }
    const { count: received } = await this.#rawEnd(RAW_SMALL_END, RAW_SMALL_ACK)
    const ms = now() - started
    return { sent, received, ms, perSecond: (received / ms) * 1000 }
  }

  // ── mux ────────────────────────────────────────────────────────────────────

  /** Carries a request value (with channel halves inside) to the peer on a fresh request stream, as a mailbox does. */
  async #request(value: MuxRequest): Promise<MuxStream> {
    const stream = this.#session.openStream('request')
    await stream.send(this.#connection.encode(value))
    return stream
  }

  async #serve(stream: MuxStream): Promise<void> {
    const first = await stream.receive()
    if (first === null) return
    // The mesh's requests (calls, hops) are msgpack arrays, the benchmark's own are maps: told apart by
    // the first byte, so a call is decoded once, as in a mesh.
    if (isMsgpackArray(first)) return this.#messaging.serve(this.#connection, stream, first)
    const request = this.#connection.decode(first) as MuxRequest
    if (request.op !== 'streamSink') {
      stream.close()
      void stream.receive().catch(() => {})
    }
    switch (request.op) {
      case 'sink': {
        let received = 0
        let maxGapMs = 0
        if (!request.readMBps) {
          let last = 0
          for (let chunk = await request.data.read(); chunk !== undefined; chunk = await request.data.read()) {
            const at = now()
            if (received > 0) maxGapMs = Math.max(maxGapMs, at - last)
            last = at
            received += chunk.byteLength
          }
        } else {
          // A slow reader: at most `readMBps` on average. It sleeps whenever it is ahead of that pace —
          // not a fixed minimum per chunk, as a bytes reader gets chunks of any size (the pieces they
          // crossed the link in) and a browser stretches short timers to 4 ms.
          let started = 0
          for (let chunk = await request.data.read(); chunk !== undefined; chunk = await request.data.read()) {
            if (received === 0) started = now()
            received += chunk.byteLength
            const ahead = started + received / (request.readMBps * 1000) - now()
            if (ahead > 0) await sleep(ahead)
          }
        }
        await request.done.send({ count: received, maxGapMs })
        return
      }
      case 'streamSink': {
        let received = 0
        let maxGapMs = 0
        let last = 0
        for (let message = await stream.receive(); message !== null; message = await stream.receive()) {
          const at = now()
          if (received > 0) maxGapMs = Math.max(maxGapMs, at - last)
          last = at
          received += message.byteLength
        }
        stream.close()
        await request.done.send({ count: received, maxGapMs })
        return
      }
      case 'echo': {
        for (let ping = await request.pings.recv(); ping !== undefined; ping = await request.pings.recv()) await request.pongs.send(ping)
        request.pongs.close()
        return
      }
      case 'count': {
        let count = 0
        while ((await request.messages.recv()) !== undefined) count++
        await request.done.send(count)
        return
      }
    }
  }

  /** A `bytes` channel (64 KiB writes, its default chunk size) for `durationMs`; rate = bytes the reader counted ÷ time until its reply. */
  async muxBytesThroughput(durationMs: number): Promise<ThroughputResult> {
    const chunk = filled(64 * 1024, 0)
    const [tx, rx] = bytes.channel()
    const [doneTx, doneRx] = oneshot.channel<SinkReply>()
    const started = now()
    const request = await this.#request({ op: 'sink', data: rx, done: doneTx })
    request.close()
    let sentBytes = 0
    while (now() - started < durationMs) {
      await tx.write(chunk)
      sentBytes += chunk.byteLength
    }
    tx.close()
    const { count: receivedBytes, maxGapMs } = await withTimeout(doneRx.recv(), 60_000, 'bytes sink reply')
    const ms = now() - started
    return { sentBytes, receivedBytes, ms, mbps: receivedBytes / ms / 1000, maxGapMs }
  }

  /** 64 KiB messages on one mux stream (no channel layer, no codec): where the mux alone stands. */
  async muxStreamThroughput(durationMs: number): Promise<ThroughputResult> {
    const message = filled(64 * 1024, 0)
    const [doneTx, doneRx] = oneshot.channel<SinkReply>()
    const started = now()
    const stream = await this.#request({ op: 'streamSink', done: doneTx })
    void stream.receive().catch(() => {})
    let sentBytes = 0
    while (now() - started < durationMs) {
      await stream.send(message)
      sentBytes += message.byteLength
    }
    stream.close()
    const { count: receivedBytes, maxGapMs } = await withTimeout(doneRx.recv(), 60_000, 'stream sink reply')
    const ms = now() - started
    return { sentBytes, receivedBytes, ms, mbps: receivedBytes / ms / 1000, maxGapMs }
  }

  /** One 64-byte ping on the raw channel, resolved by its pong: what a call is compared to. */
  #rawRoundTrip(): () => Promise<void> {
    let seq = 0
    return () => {
      const ping = filled(PING_BYTES, RAW_PING)
      const mine = seq++
      new DataView(ping.buffer).setUint32(1, mine)
      const back = new Promise<void>((resolve) => {
        this.#rawPongListener = (pong) => {
          if (pong === mine) resolve()
        }
      })
      this.#raw.send(ping)
      return back
    }
  }

  /**
   * Raw ping, call and hop in turn, `count` times each: the three sample the same moments, so the
   * machine's drifting load (two peers, their WebRTC threads and the runner on shared cores) weighs
   * on each alike, which separate series of a few hundred do not get.
   */
  async interleavedRtt(count: number): Promise<{ raw: PingResult; call: PingResult; hop: PingResult }> {
    const payload = filled(PING_BYTES, 0)
    const rawPing = this.#rawRoundTrip()
    const kinds = [rawPing, () => this.#messaging.call(this.#otherId, 'bench.echo', payload), () => hop(this.#hopPeer, { payload }, echoBlock)]
    const rtts: number[][] = [[], [], []]
    try {
      for (let i = 0; i < count + PING_DISCARD; i++) {
        for (let kind = 0; kind < kinds.length; kind++) {
          const started = now()
          await kinds[kind]!()
          if (i >= PING_DISCARD) rtts[kind]!.push(now() - started)
        }
      }
    } finally {
      this.#rawPongListener = undefined
    }
    const [raw, call, hopped] = rtts.map((series) => summarize(series) as PingResult)
    return { raw: raw!, call: call!, hop: hopped! }
  }

  /** Calls per second with `inFlight` calls outstanding at all times, for `durationMs`. */
  async callsPerSecond(inFlight: number, durationMs: number): Promise<{ calls: number; ms: number; perSecond: number }> {
    const payload = filled(PING_BYTES, 0)
    let calls = 0
    const started = now()
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (now() - started < durationMs) {
          await this.#messaging.call(this.#otherId, 'bench.echo', payload)
          calls++
        }
      }),
    )
    const ms = now() - started
    return { calls, ms, perSecond: (calls / ms) * 1000 }
  }

  /**
   * 64-byte pings on an mpsc channel, echoed by the peer on another mpsc channel, one every
   * `intervalMs`. With `load`, a `bytes` channel carries bulk data the same way meanwhile.
   */
  async muxPing(pings: number, intervalMs: number, load: boolean): Promise<PingResult> {
    let stopBulk = false
    let bulk: Promise<{ sentBytes: number; receivedBytes: number; ms: number; maxGapMs: number }> | undefined
    if (load) {
      const chunk = filled(64 * 1024, 0)
      const [tx, rx] = bytes.channel()
      const [doneTx, doneRx] = oneshot.channel<SinkReply>()
      ;(await this.#request({ op: 'sink', data: rx, done: doneTx })).close()
      const bulkStarted = now()
      bulk = (async () => {
        let sentBytes = 0
        while (!stopBulk) {
          await tx.write(chunk)
          sentBytes += chunk.byteLength
        }
        tx.close()
        const { count: receivedBytes, maxGapMs } = await withTimeout(doneRx.recv(), 60_000, 'bytes sink reply')
        return { sentBytes, receivedBytes, ms: now() - bulkStarted, maxGapMs }
      })()
      await sleep(300)
    }
    const [pingTx, pingRx] = mpsc.channel<Uint8Array>()
    const [pongTx, pongRx] = mpsc.channel<Uint8Array>()
    ;(await this.#request({ op: 'echo', pings: pingRx, pongs: pongTx })).close()
    const total = pings + PING_DISCARD
    const sentAt = new Map<number, number>()
    const rtts: number[] = []
    const receiving = (async () => {
      for (let back = 0; back < total; back++) {
        const pong = await pongRx.recv()
        if (pong === undefined) return back
        const at = now()
        const seq = new DataView(pong.buffer, pong.byteOffset).getUint32(1)
        if (seq >= PING_DISCARD) rtts.push(at - sentAt.get(seq)!)
      }
      return total
    })()
    const seriesStarted = now()
    for (let seq = 0; seq < total; seq++) {
      const due = seriesStarted + seq * intervalMs
      if (due > now()) await sleep(due - now())
      const ping = filled(PING_BYTES, RAW_PING)
      new DataView(ping.buffer).setUint32(1, seq)
      sentAt.set(seq, now())
      await pingTx.send(ping)
    }
    const back = await withTimeout(receiving, 60_000, 'mux pongs').catch(() => 0)
    pingTx.close()
    stopBulk = true
    let loadMBps: number | undefined
    let loadMaxGapMs: number | undefined
    if (bulk) {
      const result = await bulk
      if (result.receivedBytes !== result.sentBytes) throw new Error(`mux bulk lost data: sent ${result.sentBytes}, the peer got ${result.receivedBytes}`)
      loadMBps = result.receivedBytes / result.ms / 1000
      loadMaxGapMs = result.maxGapMs
    }
    pongRx.close()
    return { ...summarize(rtts), loadMBps, loadMaxGapMs, lost: total - back }
  }

  /** 100-byte Uint8Array values through an mpsc channel (`await send` each) for `durationMs`; rate = values the peer counted ÷ time until its reply. */
  async muxSmall(durationMs: number, messageBytes: number): Promise<SmallResult> {
    const message = filled(messageBytes, RAW_SMALL)
    const [tx, rx] = mpsc.channel<Uint8Array>()
    const [doneTx, doneRx] = oneshot.channel<number>()
    const started = now()
    ;(await this.#request({ op: 'count', messages: rx, done: doneTx })).close()
    let sent = 0
    while (now() - started < durationMs) {
      await tx.send(message)
      sent++
    }
    tx.close()
    const received = await withTimeout(doneRx.recv(), 60_000, 'count reply')
    const ms = now() - started
    return { sent, received, ms, perSecond: (received / ms) * 1000 }
  }

  /** Pushes `totalBytes` through a `bytes` channel (64 KiB writes, as fast as it takes them) into a reader paced at `readMBps`. */
  async slowReceiver(totalBytes: number, readMBps: number): Promise<ThroughputResult> {
    const chunk = filled(64 * 1024, 0)
    const [tx, rx] = bytes.channel()
    const [doneTx, doneRx] = oneshot.channel<SinkReply>()
    const started = now()
    ;(await this.#request({ op: 'sink', data: rx, done: doneTx, readMBps })).close()
    let sentBytes = 0
    while (sentBytes < totalBytes) {
      await tx.write(chunk)
      sentBytes += chunk.byteLength
    }
    tx.close()
    const { count: receivedBytes } = await withTimeout(doneRx.recv(), 120_000, 'slow sink reply')
    const ms = now() - started
    return { sentBytes, receivedBytes, ms, mbps: receivedBytes / ms / 1000 }
  }
}

/** Whether msgpack bytes start with an array header (fixarray, array 16, array 32). */
function isMsgpackArray(bytes: Uint8Array): boolean {
  const head = bytes[0]!
  return (head >= 0x90 && head <= 0x9f) || head === 0xdc || head === 0xdd
}
