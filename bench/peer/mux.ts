/**
 * The multiplexed workloads: the library's stack on the link's data channel (id 0), built by
 * `createPeerStack` exactly as the mesh builds it, with the mesh's messaging for calls and hops.
 *
 * A workload carries a request to the peer on a fresh request stream — a value with channel halves
 * inside, as a mailbox does — and the peer's responder (`RESPONDERS`) serves it. The mesh's own
 * requests (calls, hops) are msgpack arrays and the benchmark's are maps: told apart by the first
 * byte, so a call is decoded once, as in a mesh.
 */
import type { Connection } from '../../src/channels/connection.js'
import { bytes, mpsc, oneshot } from '../../src/channels/index.js'
import { Messaging } from '../../src/mesh/messaging.js'
import { ObservableMap, type MapSubscription } from '../../src/objects/collections/map.js'
import { lazyBlob, type LazyBlob } from '../../src/objects/lazy-blob.js'
import { createPeerStack, type PeerStack } from '../../src/mesh/peer-stack.js'
import type { MuxConfig } from '../../src/mux/config.js'
import type { MuxStream } from '../../src/mux/stream.js'
import { peerRef, type PeerRef } from '../../src/scope/here.js'
import { HOP_MAILBOX, hop, serveHop } from '../../src/scope/hop.js'
import { defineHop } from '../../src/scope/registry.js'
import type { Link } from '../../src/transport/link.js'
import { now, sleep, withTimeout } from './clock.js'
import { arrivalStamp, filled, PING_BYTES, pingPayload, pingSeq, stampArrival, wallClockMs } from './payloads.js'
import { PAYLOAD_TYPE } from './raw.js'
import { PING_DISCARD, summarize, type PingResult, type RateResult, type SmallResult, type ThroughputResult } from './stats.js'

/** The block a hop round trip runs: it returns its payload, like the `bench.echo` mailbox. */
const echoBlock = defineHop('bench:echo', ({ payload }: { payload: Uint8Array }) => payload)

const ECHO_MAILBOX = 'bench.echo'
/** A mailbox that takes plain sends and does nothing with them (`sendsPerSecond`). */
const SINK_MAILBOX = 'bench.sink'
const BULK_CHUNK_BYTES = 64 * 1024

/** What a sink counted, and the longest time between two arrivals (a stall of the link shows here). */
interface SinkReply {
  count: number
  maxGapMs: number
}

/** Requests carried to the peer's responders, with channel halves inside. */
type MuxRequest =
  | { op: 'sink'; data: bytes.ByteReceiver; done: oneshot.Sender<SinkReply>; readMBps?: number }
  | { op: 'streamSink'; done: oneshot.Sender<SinkReply> }
  | { op: 'echo'; pings: mpsc.Receiver<Uint8Array>; pongs: mpsc.Sender<Uint8Array> }
  | { op: 'count'; messages: mpsc.Receiver<Uint8Array>; done: oneshot.Sender<number> }
  | { op: 'mirror'; subscription: MapSubscription<string, number>; seen: mpsc.Sender<[number, number]> }
  | { op: 'blob'; blob: LazyBlob; done: oneshot.Sender<SinkReply> }

type Responder<R extends MuxRequest> = (request: R, stream: MuxStream) => Promise<void>

/** The responding side of each request (on `b`). Only `streamSink` reads its request stream; the others close it at once. */
const RESPONDERS: { [Op in MuxRequest['op']]: Responder<Extract<MuxRequest, { op: Op }>> } = {
  async sink(request) {
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
  },
  async streamSink(request, stream) {
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
  },
  async echo(request) {
    for (let ping = await request.pings.recv(); ping !== undefined; ping = await request.pings.recv()) {
      stampArrival(ping)
      await request.pongs.send(ping)
    }
    request.pongs.close()
  },
  async blob(request) {
    // A receiver fetching a lazy blob the usual way: get(), all of it into one buffer, with progress.
    let maxGapMs = 0
    let last = 0
    const bytes = await request.blob.get({
      onProgress: (received) => {
        const at = now()
        if (last > 0) maxGapMs = Math.max(maxGapMs, at - last)
        last = at
        void received
      },
    })
    request.blob.close()
    await request.done.send({ count: bytes.byteLength, maxGapMs })
  },
  async count(request) {
    let count = 0
    while ((await request.messages.recv()) !== undefined) count++
    await request.done.send(count)
  },
  /** Mirrors the map and, each time its `seq` entry changes, says so: `[seq, wall clock when seen]` (-1: complete). */
  async mirror(request) {
    const mirror = request.subscription.mirror()
    try {
      await mirror.whenComplete()
      await request.seen.send([-1, wallClockMs()])
      let last = mirror.value.get('seq')
      for (;;) {
        while (mirror.value.get('seq') === last && !mirror.done) await mirror.changed()
        if (mirror.done) return
        last = mirror.value.get('seq')
        await request.seen.send([last!, wallClockMs()])
      }
    } catch {
      // The owner went away (the run ended or the link failed): the runner sees the missing acks.
    } finally {
      request.seen.close()
      mirror.close()
    }
  },
}

export interface MuxWorkloadsOptions {
  initiator: boolean
  /** Diagnosis only (BENCH_TUNING): overrides of the multiplexer's defaults. */
  muxConfig?: Partial<MuxConfig>
  /** The raw channel's round trip, interleaved with calls and hops (`interleavedRtt`). */
  rawRoundTrips: () => { next: () => Promise<void>; stop: () => void }
}

export class MuxWorkloads {
  readonly stack: PeerStack
  /** The mesh's messaging (calls, hops) over this link's connection. */
  readonly #messaging: Messaging
  readonly #otherId: string
  readonly #hopPeer: PeerRef
  readonly #link: Link

  /** Builds the peer stack on `link` (open) with this side's responders. */
  constructor(
    link: Link,
    private readonly options: MuxWorkloadsOptions,
  ) {
    this.#link = link
    const selfId = (options.initiator ? 'a' : 'b').repeat(32)
    this.#otherId = (options.initiator ? 'b' : 'a').repeat(32)
    let connection: Connection | undefined
    this.#messaging = new Messaging({
      id: () => selfId,
      connectionTo: (id) => (id === this.#otherId ? connection : undefined),
      assertOpen: () => {},
      report: (error) => console.error('[bench] messaging', error.code, error.message),
    })
    this.#messaging.register(ECHO_MAILBOX, (value) => value)
    this.#messaging.register(SINK_MAILBOX, () => {})
    const transport = { id: selfId, call: (peerId: string, name: string, value: unknown) => this.#messaging.call(peerId, name, value) }
    this.#messaging.register(HOP_MAILBOX, (request, context) => serveHop(request, context, transport, undefined))
    this.#hopPeer = peerRef(transport, this.#otherId)
    this.stack = createPeerStack(link, {
      initiator: options.initiator,
      peerId: this.#otherId,
      muxConfig: options.muxConfig,
      messaging: this.#messaging,
      serveStream: (stream) => void this.#serve(stream).catch((error) => console.error('[bench] responder failed', error)),
    })
    connection = this.stack.connection
  }

  /** Carries a request value (with channel halves inside) to the peer on a fresh request stream, as a mailbox does. */
  async #request(value: MuxRequest): Promise<MuxStream> {
    const stream = this.stack.session.openStream('request')
    await stream.send(this.stack.connection.encode(value))
    return stream
  }

  async #serve(stream: MuxStream): Promise<void> {
    if (stream.purpose === 'calls') return this.#messaging.serve(this.stack.connection, stream)
    const first = await stream.receive()
    if (first === null) return
    const { connection } = this.stack
    if (isMsgpackArray(first)) return this.#messaging.serve(connection, stream, first)
    const request = connection.decode(first) as MuxRequest
    if (request.op !== 'streamSink') {
      stream.close()
      void stream.receive().catch(() => {})
    }
    const respond = RESPONDERS[request.op] as Responder<MuxRequest>
    return respond(request, stream)
  }

  /** A `bytes` channel (64 KiB writes, its default chunk size) for `durationMs`; rate = bytes the reader counted ÷ time until its reply. */
  async bytesThroughput(durationMs: number): Promise<ThroughputResult> {
    const chunk = filled(BULK_CHUNK_BYTES, 0)
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

  /**
   * A lazy blob of `totalBytes` sent to the peer inside a request, which fetches it with `get()`;
   * rate = bytes it counted ÷ time from sending the request until its reply (as for the bytes channel).
   */
  async lazyBlobThroughput(totalBytes: number): Promise<ThroughputResult> {
    const data = filled(totalBytes, 0)
    const blob = lazyBlob(data)
    const [doneTx, doneRx] = oneshot.channel<SinkReply>()
    const started = now()
    const request = await this.#request({ op: 'blob', blob, done: doneTx })
    request.close()
    const { count: receivedBytes, maxGapMs } = await withTimeout(doneRx.recv(), 60_000, 'lazy blob reply')
    const ms = now() - started
    blob.close()
    return { sentBytes: totalBytes, receivedBytes, ms, mbps: receivedBytes / ms / 1000, maxGapMs }
  }

  /** 64 KiB messages on one mux stream (no channel layer, no codec): where the mux alone stands. */
  async streamThroughput(durationMs: number): Promise<ThroughputResult> {
    const message = filled(BULK_CHUNK_BYTES, 0)
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

  /**
   * Raw ping, call and hop in turn, `count` times each: the three sample the same moments, so the
   * machine's drifting load (two peers, their WebRTC threads and the runner on shared cores) weighs
   * on each alike, which separate series of a few hundred do not get.
   */
  async interleavedRtt(count: number): Promise<{ raw: PingResult; call: PingResult; hop: PingResult }> {
    const payload = filled(PING_BYTES, 0)
    const raw = this.options.rawRoundTrips()
    const kinds = [raw.next, () => this.#messaging.call(this.#otherId, ECHO_MAILBOX, payload), () => hop(this.#hopPeer, { payload }, echoBlock)]
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
      raw.stop()
    }
    const [rawRtts, callRtts, hopRtts] = rtts.map(summarize)
    return { raw: rawRtts!, call: callRtts!, hop: hopRtts! }
  }

  /**
   * The first `count` round trips of each kind on a fresh link, none before them and all counted:
   * raw ping, mpsc ping (echoed on another mpsc channel) and call, in turn, each closed-loop — what
   * a user who does not warm up sees. Setting up the echo (one request carrying the two channel
   * halves) comes first and is not timed.
   */
  async coldRtt(count: number): Promise<{ raw: PingResult; ping: PingResult; call: PingResult }> {
    const payload = filled(PING_BYTES, 0)
    const [pingTx, pingRx] = mpsc.channel<Uint8Array>()
    const [pongTx, pongRx] = mpsc.channel<Uint8Array>()
    ;(await this.#request({ op: 'echo', pings: pingRx, pongs: pongTx })).close()
    const raw = this.options.rawRoundTrips()
    let seq = 0
    const kinds = [
      raw.next,
      async () => {
        await pingTx.send(pingPayload(PAYLOAD_TYPE.ping, seq++))
        await pongRx.recv()
      },
      () => this.#messaging.call(this.#otherId, ECHO_MAILBOX, payload),
    ]
    const rtts: number[][] = [[], [], []]
    try {
      for (let i = 0; i < count; i++) {
        for (let kind = 0; kind < kinds.length; kind++) {
          const started = now()
          await kinds[kind]!()
          rtts[kind]!.push(now() - started)
        }
      }
    } finally {
      raw.stop()
      pingTx.close()
      pongRx.close()
    }
    const [rawRtts, pingRtts, callRtts] = rtts.map(summarize)
    return { raw: rawRtts!, ping: pingRtts!, call: callRtts! }
  }

  /**
   * Observable-map updates, one at a time, interleaved with raw pings: this side owns the map, the
   * peer mirrors it and acknowledges each change it sees. `forward` is owner mutation → mirror sees
   * it, by the two sides' wall clocks; `update` is mutation → acknowledgement back (a round trip, the
   * figure comparable with the raw ping's).
   */
  async mirrorUpdate(count: number): Promise<{ raw: PingResult; update: PingResult; forward: PingResult }> {
    const owner = new ObservableMap<string, number>([['seq', -1]])
    const [seenTx, seenRx] = mpsc.channel<[number, number]>()
    ;(await this.#request({ op: 'mirror', subscription: owner.subscribe(), seen: seenTx })).close()
    await withTimeout(seenRx.recv(), 10_000, 'mirror complete')
    const raw = this.options.rawRoundTrips()
    const rawRtts: number[] = []
    const updates: number[] = []
    const forward: number[] = []
    try {
      for (let seq = 0; seq < count + PING_DISCARD; seq++) {
        let started = now()
        await raw.next()
        const rawRtt = now() - started
        started = now()
        const mutatedAt = wallClockMs()
        owner.set('seq', seq)
        const seen = await withTimeout(seenRx.recv(), 10_000, 'mirror update')
        const updateRtt = now() - started
        if (!seen || seen[0] !== seq) throw new Error(`the mirror saw ${seen?.[0]} where ${seq} was set`)
        if (seq < PING_DISCARD) continue
        rawRtts.push(rawRtt)
        updates.push(updateRtt)
        forward.push(seen[1] - mutatedAt)
      }
    } finally {
      raw.stop()
      owner.done()
      seenRx.close()
    }
    return { raw: summarize(rawRtts), update: summarize(updates), forward: summarize(forward) }
  }

  /** Calls per second with `inFlight` calls outstanding at all times, for `durationMs`. */
  callsPerSecond(inFlight: number, durationMs: number): Promise<RateResult> {
    const payload = filled(PING_BYTES, 0)
    return ratePerSecond(inFlight, durationMs, () => this.#messaging.call(this.#otherId, ECHO_MAILBOX, payload))
  }

  /**
   * Plain mailbox sends (`mesh.send`) per second with `inFlight` outstanding: 1 is a sender that
   * awaits each send, 64 one that pipelines them. What a resolved send waits for is what this costs.
   */
  sendsPerSecond(inFlight: number, durationMs: number): Promise<RateResult> {
    const payload = filled(PING_BYTES, 0)
    return ratePerSecond(inFlight, durationMs, () => this.#messaging.send(this.#otherId, SINK_MAILBOX, payload))
  }

  /**
   * 64-byte pings on an mpsc channel, echoed by the peer on another mpsc channel, one every
   * `intervalMs`. With `load`, a `bytes` channel carries bulk data the same way meanwhile.
   */
  async ping(pings: number, intervalMs: number, load: boolean): Promise<PingResult> {
    let stopBulk = false
    let bulk: Promise<{ sentBytes: number; receivedBytes: number; ms: number; maxGapMs: number }> | undefined
    if (load) {
      const chunk = filled(BULK_CHUNK_BYTES, 0)
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
    const linkBuffered: number[] = []
    const sentAtWall = new Map<number, number>()
    const forward: number[] = []
    const receiving = (async () => {
      for (let back = 0; back < total; back++) {
        const pong = await pongRx.recv()
        if (pong === undefined) return back
        const at = now()
        const seq = pingSeq(pong)
        if (seq >= PING_DISCARD) {
          rtts.push(at - sentAt.get(seq)!)
          forward.push(arrivalStamp(pong) - sentAtWall.get(seq)!)
        }
      }
      return total
    })()
    const seriesStarted = now()
    for (let seq = 0; seq < total; seq++) {
      const due = seriesStarted + seq * intervalMs
      if (due > now()) await sleep(due - now())
      const ping = pingPayload(PAYLOAD_TYPE.ping, seq)
      sentAt.set(seq, now())
      sentAtWall.set(seq, wallClockMs())
      if (seq >= PING_DISCARD) linkBuffered.push(this.#link.bufferedBytes)
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
    return { ...summarize(rtts), loadMBps, loadMaxGapMs, lost: total - back, queuedBytesMedian: summarize(linkBuffered).p50, forward: summarize(forward) }
  }

  /** Small Uint8Array values through an mpsc channel (`await send` each) for `durationMs`; rate = values the peer counted ÷ time until its reply. */
  async small(durationMs: number, messageBytes: number): Promise<SmallResult> {
    const message = filled(messageBytes, PAYLOAD_TYPE.small)
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

  /**
   * `small`, but pipelined: `window` sends in flight, awaited together — how far past one value per
   * awaited send batching goes (a diagnosis figure, not in the runner's table).
   */
  async smallPipelined(durationMs: number, messageBytes: number, window = 64): Promise<SmallResult> {
    const message = filled(messageBytes, PAYLOAD_TYPE.small)
    const [tx, rx] = mpsc.channel<Uint8Array>()
    const [doneTx, doneRx] = oneshot.channel<number>()
    const started = now()
    ;(await this.#request({ op: 'count', messages: rx, done: doneTx })).close()
    let sent = 0
    const inFlight: Promise<void>[] = []
    while (now() - started < durationMs) {
      for (let i = 0; i < window; i++) inFlight.push(tx.send(message))
      await Promise.all(inFlight)
      inFlight.length = 0
      sent += window
    }
    tx.close()
    const received = await withTimeout(doneRx.recv(), 60_000, 'count reply')
    const ms = now() - started
    return { sent, received, ms, perSecond: (received / ms) * 1000 }
  }

  /** Pushes `totalBytes` through a `bytes` channel (64 KiB writes, as fast as it takes them) into a reader paced at `readMBps`. */
  async slowReceiver(totalBytes: number, readMBps: number): Promise<ThroughputResult> {
    const chunk = filled(BULK_CHUNK_BYTES, 0)
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

/** Runs `operation` with `inFlight` of them outstanding at all times for `durationMs`; counts completions. */
async function ratePerSecond(inFlight: number, durationMs: number, operation: () => Promise<unknown>): Promise<RateResult> {
  let calls = 0
  const started = now()
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (now() - started < durationMs) {
        await operation()
        calls++
      }
    }),
  )
  const ms = now() - started
  return { calls, ms, perSecond: (calls / ms) * 1000 }
}
