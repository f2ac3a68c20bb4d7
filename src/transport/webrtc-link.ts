/**
 * A Link over one WebRTC data channel. It speaks to the W3C RTCPeerConnection API directly, so the
 * browser's native implementation and `@roamhq/wrtc` in Node (injected by src/node.ts) run the same
 * code; see docs/architecture.md for why this replaced simple-peer.
 *
 * Two data channels, pre-negotiated (ordered, reliable): no in-band DCEP round trip, and both sides
 * create them symmetrically. Id 0 is the bulk lane, id 1 the latency lane (link.ts, "Lanes"): SCTP
 * serves the two streams' send queues in turn, so a small message on the latency lane does not wait
 * behind the bulk lane's buffer (measured: docs/architecture.md, "Latency"). The link opens when both
 * have opened, and either one closing or failing ends it. Offers, answers and ICE candidates travel through `sendSignal` /
 * `acceptSignal`; the caller carries them (the signaling server, or later the mesh itself).
 */
import { MeshscopeError } from '../errors.js'
import { Emitter } from '../util/emitter.js'
import { CandidateBatch, MAX_CANDIDATES_PER_SIGNAL, MAX_REMOTE_CANDIDATES_PER_LINK, type RtcCandidate } from './candidate-batch.js'
import { addCandidatesToSdp, DESCRIPTION_CANDIDATE_WAIT_MS, DESCRIPTION_CANDIDATE_WINDOW_MS } from './description-candidates.js'
import {
  DEFAULT_HIGH_WATER_MARK_BYTES,
  DEFAULT_LATENCY_HIGH_WATER_MARK_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  type Link,
  type LinkCloseInfo,
  type LinkEvents,
  type LinkLane,
  type LinkState,
} from './link.js'
import { SendQueue } from './send-queue.js'

export type RtcPeerConnectionConstructor = new (configuration?: RTCConfiguration) => RTCPeerConnection

export type { RtcCandidate } from './candidate-batch.js'

/**
 * What travels between the two sides while a link forms: a description, or a batch of ICE candidates
 * (1..MAX_CANDIDATES_PER_SIGNAL, candidate-batch.ts).
 */
export type RtcSignal = { kind: 'description'; type: 'offer' | 'answer'; sdp: string } | { kind: 'candidates'; candidates: RtcCandidate[] }

export interface WebRtcLinkOptions {
  /** The initiating side creates the offer. In a mesh the lower peer id initiates, so offers never collide. */
  initiator: boolean
  RTCPeerConnection: RtcPeerConnectionConstructor
  iceServers?: RTCIceServer[]
  /**
   * A connection made ahead of need (src/mesh/warm-up.ts) with these `iceServers`, never used: the
   * link takes it over instead of making one. Without it the link makes its own.
   */
  peerConnection?: RTCPeerConnection
  /** Carries a description or candidate to the other side. */
  sendSignal(signal: RtcSignal): void
  /** The bulk lane's mark (`DEFAULT_HIGH_WATER_MARK_BYTES`). */
  highWaterMarkBytes?: number
  /** The latency lane's mark (`DEFAULT_LATENCY_HIGH_WATER_MARK_BYTES`). */
  latencyHighWaterMarkBytes?: number
  maxMessageBytes?: number
  /**
   * The link closes with `timeout` if the data channel has not opened by then.
   * @default 15_000
   */
  connectTimeoutMs?: number
  /**
   * How long this side's offer or answer, once applied, waits at most for its first candidates to
   * travel with it (description-candidates.ts).
   * @default DESCRIPTION_CANDIDATE_WAIT_MS
   */
  descriptionCandidateWaitMs?: number
}

/**
 * Messages that may arrive on one lane before the other has opened here (the peer's HELLO on the
 * latency lane); they are delivered after `open`. More fail the link: an honest peer sends nothing
 * else before this side's first message.
 */
const MAX_EARLY_MESSAGES = 64
/**
 * Bytes those messages may hold in all (a HELLO is a few dozen): more fail the link, so a peer
 * cannot park megabytes on a link that is not open, outside every budget. The mux's largest frame
 * (MAX_FRAME_BYTES, 16 KiB), so it also bounds each message.
 */
const MAX_EARLY_BYTES = 16 * 1024
/** Candidates that may arrive before the remote description; more are refused. */
const MAX_EARLY_CANDIDATES = 64
/** wrtc has no `bufferedamountlow` event: poll the buffer this often while waiting for room. */
const DRAIN_POLL_MS = 1
/** After the channel's close event, the link closes once no message has arrived for this long… */
const CLOSE_QUIET_MS = 20
/** …or after this long at most. */
const CLOSE_QUIET_LIMIT_MS = 500
/** How long a graceful close waits for buffered bytes to leave before closing anyway. */
const CLOSE_FLUSH_LIMIT_MS = 3000
/**
 * How long a closed link keeps its connection and channels referenced after `RTCPeerConnection.close()`:
 * wrtc may still dispatch callbacks to them, and collecting them meanwhile is one of its known crashes
 * (docs/architecture.md, "wrtc's fragile close").
 */
const CLOSED_RETAIN_MS = 2_000
/** Connections and channels of links that closed within CLOSED_RETAIN_MS; see there. */
const recentlyClosed = new Set<object>()
/** The data channel ids of the two lanes (pre-negotiated: both sides use the same). */
const LANE_CHANNEL_IDS: Record<LinkLane, number> = { bulk: 0, latency: 1 }
const LANES: readonly LinkLane[] = ['latency', 'bulk']

/** This side's offer or answer while it waits for its first candidates. */
interface HeldDescription {
  type: 'offer' | 'answer'
  sdp: string
  /** Started once the description was applied: it then leaves without candidates. */
  timer?: ReturnType<typeof setTimeout>
  /** Started by its first candidate: the batch then leaves with it. */
  closing?: ReturnType<typeof setTimeout>
}

/** One lane: its data channel and the queue that keeps its buffer under the lane's mark. */
interface Lane {
  channel: RTCDataChannel
  queue: SendQueue
  highWaterMarkBytes: number
  /** Tracked from events: reading readyState is a synchronous cross-thread call in wrtc. */
  open: boolean
  /**
   * The channel is closing or closed (this side called `close()`, or its close event came): nothing
   * calls into it any more. In wrtc a channel's native handle is released on the signaling thread when
   * it closes, while a call from JavaScript (bufferedAmount, send, close) may be using it: a crash.
   */
  closing: boolean
}

export class WebRtcLink implements Link {
  readonly events = new Emitter<LinkEvents>()
  readonly maxMessageBytes: number
  readonly opened: Promise<void>
  #state: LinkState = 'connecting'
  #pc: RTCPeerConnection
  readonly #lanes: Record<LinkLane, Lane>
  #earlyCandidates: RTCIceCandidateInit[] = []
  /** Candidates gathered here, waiting to leave in one signal. */
  #outgoingCandidates: CandidateBatch
  /** This side's offer or answer, held until its first candidates can leave with it (description-candidates.ts). */
  #heldDescription: HeldDescription | undefined
  /** Messages received before the link opened, and after until they are delivered (in order, a macrotask after `open`). */
  #earlyMessages: Array<[Uint8Array, LinkLane]> | undefined = []
  #earlyBytes = 0
  /** Remote candidates taken (added, or held until the remote description): at most MAX_REMOTE_CANDIDATES_PER_LINK. */
  #remoteCandidates = 0
  #lastMessageAt = 0
  #hasRemoteDescription = false
  /**
   * The connection's state as its last `connectionstatechange` reported it, and `closed` once the
   * link ended. Read from the connection once per change event and nowhere else: in wrtc every state
   * read is a synchronous call into its signaling thread, which is busiest while a room forms.
   */
  #connectionState: RTCPeerConnectionState = 'new'
  #connectTimer: ReturnType<typeof setTimeout>
  #resolveOpened!: () => void
  #rejectOpened!: (error: unknown) => void

  constructor(private readonly options: WebRtcLinkOptions) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    this.opened = new Promise((resolve, reject) => {
      this.#resolveOpened = resolve
      this.#rejectOpened = reject
    })
    this.opened.catch(() => {}) // observed through `close` as well; never an unhandled rejection

    this.#pc = options.peerConnection ?? new options.RTCPeerConnection({ iceServers: options.iceServers ?? [] })
    this.#lanes = {
      latency: this.#createLane('latency', options.latencyHighWaterMarkBytes ?? DEFAULT_LATENCY_HIGH_WATER_MARK_BYTES),
      bulk: this.#createLane('bulk', options.highWaterMarkBytes ?? DEFAULT_HIGH_WATER_MARK_BYTES),
    }

    this.#outgoingCandidates = new CandidateBatch((candidates) => {
      if (this.#heldDescription) return this.#releaseDescription(candidates)
      if (this.#state === 'connecting' && this.#connectionState !== 'connected') options.sendSignal({ kind: 'candidates', candidates })
    })
    this.#pc.onicecandidate = (event) => {
      const candidate = event.candidate
      // End of candidates needs no message of its own: what is waiting leaves now (with a held
      // description). Not the held description without candidates: wrtc reports an end before an
      // answer's gathering started (it reads the gathering state late); its wait covers that.
      if (!candidate?.candidate) return this.#outgoingCandidates.flush()
      this.#outgoingCandidates.add({ candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex })
      // A held description waits for the candidates gathered with this one, not a whole batch window.
      const held = this.#heldDescription
      if (held && !held.closing) held.closing = setTimeout(() => this.#outgoingCandidates.flush(), DESCRIPTION_CANDIDATE_WINDOW_MS)
    }
    this.#pc.onconnectionstatechange = () => {
      if (this.#state === 'closed') return
      this.#connectionState = this.#pc.connectionState
      if (this.#connectionState === 'failed') this.#finish({ reason: 'failed', message: 'the peer connection failed' })
    }
    for (const name of LANES) this.#listen(name)

    const timeoutMs = options.connectTimeoutMs ?? 15_000
    this.#connectTimer = setTimeout(() => {
      if (this.#state === 'connecting') this.#finish({ reason: 'timeout', message: `the link did not open within ${timeoutMs} ms` })
    }, timeoutMs)

    if (options.initiator) void this.#makeOffer()
  }

  get state(): LinkState {
    return this.#state
  }

  /**
   * The peer connection's state as its events reported it (`closed` once the link ended), without
   * asking the connection: for diagnosis, and cheap to read in wrtc, where asking is a cross-thread call.
   */
  get connectionState(): RTCPeerConnectionState {
    return this.#connectionState
  }

  get bufferedBytes(): number {
    let bytes = 0
    for (const name of LANES) {
      const lane = this.#lanes[name]
      bytes += lane.queue.queuedBytes + (this.#state === 'open' && lane.open ? lane.channel.bufferedAmount : 0)
    }
    return bytes
  }

  send(data: Uint8Array, lane: LinkLane = 'latency'): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') return Promise.reject(new MeshscopeError('LINK_CLOSED', 'the link is closed'))
    if (data.byteLength > this.maxMessageBytes) {
      return Promise.reject(new MeshscopeError('MESSAGE_TOO_LARGE', `a link message holds at most ${this.maxMessageBytes} bytes, got ${data.byteLength}`))
    }
    // While connecting, messages wait in the queue (copied: the caller may reuse its buffer); `onopen` pumps them.
    return this.#lanes[lane].queue.push(this.#state === 'connecting' ? data.slice() : data)
  }

  /** Applies a description or candidate from the other side. Bad signals close the link as failed. */
  async acceptSignal(signal: RtcSignal): Promise<void> {
    if (this.#state === 'closed') return
    try {
      if (signal.kind === 'description') {
        if (signal.type === 'offer' && this.options.initiator) throw new MeshscopeError('BAD_SIGNAL', 'the initiator does not accept offers')
        if (signal.type === 'answer' && !this.options.initiator) throw new MeshscopeError('BAD_SIGNAL', 'only the initiator accepts answers')
        await this.#pc.setRemoteDescription({ type: signal.type, sdp: signal.sdp })
        this.#hasRemoteDescription = true
        const early = this.#earlyCandidates
        this.#earlyCandidates = []
        for (const candidate of early) await this.#pc.addIceCandidate(candidate)
        if (signal.type === 'offer') {
          const answer = await this.#pc.createAnswer()
          // Applied while it waits for its candidates (see #makeOffer).
          const applied = this.#pc.setLocalDescription(answer)
          applied.catch(() => {}) // awaited below; handled there even if holding threw first
          if (this.state !== 'closed') this.#holdDescription('answer', answer.sdp ?? '', applied)
          await applied
        }
        return
      }
      if (signal.candidates.length > MAX_CANDIDATES_PER_SIGNAL)
        throw new MeshscopeError('BAD_SIGNAL', `more than ${MAX_CANDIDATES_PER_SIGNAL} candidates in one signal`)
      // Once the connection is up (or the link is open) a candidate adds nothing but a check towards
      // an address the peer chose; past the per-link cap, the same. Both are ignored, not refused: an
      // honest peer's late batch may cross this side's connecting.
      if (this.#state !== 'connecting' || this.#connectionState === 'connected') return
      for (const { candidate, sdpMid, sdpMLineIndex } of signal.candidates) {
        if (this.#remoteCandidates >= MAX_REMOTE_CANDIDATES_PER_LINK) return
        this.#remoteCandidates++
        const init: RTCIceCandidateInit = { candidate, sdpMid, sdpMLineIndex }
        if (this.#hasRemoteDescription) await this.#pc.addIceCandidate(init)
        else if (this.#earlyCandidates.length < MAX_EARLY_CANDIDATES) this.#earlyCandidates.push(init)
      }
    } catch (error) {
      if (this.state === 'closed') return
      this.#finish({ reason: 'failed', message: `bad ${signal.kind} from the peer: ${error instanceof Error ? error.message : String(error)}` })
    }
  }

  close(message = 'closed'): void {
    if (this.#state === 'closed' || this.#state === 'closing') return
    if (this.#state === 'connecting') return this.#finish({ reason: 'closed', message })
    this.#state = 'closing'
    // Hand every accepted message to the data channels and let them send them all (wrtc drops what
    // is still in bufferedAmount when a channel closes), then close the channels themselves, so the
    // peer receives everything and then sees the close; the connection closes after that.
    const deadline = Date.now() + CLOSE_FLUSH_LIMIT_MS
    const closeWhenHandedOver = () => {
      if (this.#state === 'closed') return
      // The peer closed a lane meanwhile: its close event finishes the link; touch nothing more.
      if (LANES.some((name) => this.#lanes[name].closing)) return
      // wrtc loses what is still in bufferedAmount when the channel closes: wait until it is all sent.
      const pending = LANES.some((name) => this.#lanes[name].queue.queuedBytes > 0 || this.#lanes[name].channel.bufferedAmount > 0)
      if (pending && Date.now() < deadline) {
        setTimeout(closeWhenHandedOver, 5)
        return
      }
      for (const name of LANES) this.#closeChannel(this.#lanes[name])
      // A channel's close event finishes the link; never wait forever for it.
      const fallback = setTimeout(() => this.#finish({ reason: 'closed', message }), Math.max(0, deadline - Date.now()))
      ;(fallback as { unref?: () => void }).unref?.() // in Node, do not keep the process alive for it
    }
    closeWhenHandedOver()
  }

  abort(message = 'aborted'): void {
    this.#finish({ reason: 'closed', message })
  }

  async #makeOffer(): Promise<void> {
    try {
      const offer = await this.#pc.createOffer()
      // The offer waits for its first candidates (gathered once it is applied), but not for being
      // applied: if none come, it leaves without them as soon as it may (#holdDescription). Safe,
      // because the description sent is the one being applied, and the connection's operations chain
      // applies the peer's answer only after it. If applying it fails, the link fails (below) and
      // the peer's attempt times out.
      const applied = this.#pc.setLocalDescription(offer)
      applied.catch(() => {}) // awaited below; handled there even if holding threw first
      if (this.state === 'connecting') this.#holdDescription('offer', offer.sdp ?? '', applied)
      await applied
    } catch (error) {
      this.#finish({ reason: 'failed', message: `could not create an offer: ${error instanceof Error ? error.message : String(error)}` })
    }
  }

  /**
   * Holds this side's description until the first candidate batch (description-candidates.ts), or
   * until `descriptionCandidateWaitMs` after it was applied — gathering starts then — if none came.
   */
  #holdDescription(type: 'offer' | 'answer', sdp: string, applied: Promise<void>): void {
    const held: HeldDescription = { type, sdp }
    this.#heldDescription = held
    const waitMs = this.options.descriptionCandidateWaitMs ?? DESCRIPTION_CANDIDATE_WAIT_MS
    void applied.then(
      () => {
        if (this.#heldDescription === held) held.timer = setTimeout(() => this.#releaseDescription([]), waitMs)
      },
      () => {}, // the link fails where `applied` is awaited
    )
  }

  /** Sends the held description, with `candidates` in it (or, if the SDP has no section for them, after it). */
  #releaseDescription(candidates: RtcCandidate[]): void {
    const held = this.#heldDescription
    if (!held) return
    this.#heldDescription = undefined
    clearTimeout(held.timer)
    clearTimeout(held.closing)
    if (this.#state === 'closed') return
    const sdp = candidates.length > 0 ? addCandidatesToSdp(held.sdp, candidates) : held.sdp
    this.options.sendSignal({ kind: 'description', type: held.type, sdp: sdp ?? held.sdp })
    if (sdp === undefined) this.options.sendSignal({ kind: 'candidates', candidates })
  }

  /**
   * wrtc can dispatch a channel's close event before the last message events it already received
   * (Chromium keeps them in order): wait until messages have stopped arriving for a moment, so
   * nothing the peer sent before closing is lost.
   */
  #finishAfterLastMessages(info: LinkCloseInfo): void {
    const giveUpAt = Date.now() + CLOSE_QUIET_LIMIT_MS
    const check = () => {
      if (this.#state === 'closed') return
      if (Date.now() - this.#lastMessageAt < CLOSE_QUIET_MS && Date.now() < giveUpAt) setTimeout(check, CLOSE_QUIET_MS)
      else this.#finish(info)
    }
    setTimeout(check, CLOSE_QUIET_MS)
  }

  /** Closes a lane's channel once; from then on nothing calls into it (see `Lane.closing`). */
  #closeChannel(lane: Lane): void {
    if (lane.closing) return
    lane.closing = true
    lane.open = false // the queue stops writing to it
    try {
      lane.channel.close()
    } catch {
      // already closing
    }
  }

  #createLane(name: LinkLane, highWaterMarkBytes: number): Lane {
    const channel = this.#pc.createDataChannel(name === 'bulk' ? 'meshscope' : 'meshscope-latency', {
      negotiated: true,
      id: LANE_CHANNEL_IDS[name],
      ordered: true,
    })
    channel.binaryType = 'arraybuffer'
    const lane: Lane = { channel, highWaterMarkBytes, open: false, closing: false, queue: undefined as unknown as SendQueue }
    lane.queue = new SendQueue(
      {
        isWritable: () => lane.open && (this.#state === 'open' || this.#state === 'closing'),
        bufferedAmount: () => channel.bufferedAmount,
        startsEmpty: true, // a new channel: nothing is buffered before this queue's first write
        write: (data) => channel.send(data as Uint8Array<ArrayBuffer>),
        waitForDrain: (wake) => this.#waitForDrain(lane, wake),
      },
      highWaterMarkBytes,
    )
    return lane
  }

  #listen(name: LinkLane): void {
    const channel = this.#lanes[name].channel
    channel.onopen = () => {
      if (this.#state !== 'connecting') return
      this.#lanes[name].open = true
      if (!LANES.every((other) => this.#lanes[other].open)) return
      clearTimeout(this.#connectTimer)
      this.#state = 'open'
      this.#resolveOpened()
      this.events.emit('open')
      for (const other of LANES) this.#lanes[other].queue.pump()
      // A macrotask later, as a message event would come: whoever awaited `opened` listens by then.
      setTimeout(() => this.#deliverEarlyMessages(), 0)
    }
    channel.onmessage = (event: MessageEvent) => {
      if (this.#state === 'closed') return
      this.#lastMessageAt = Date.now()
      // Only binary messages are meshscope's; a text message from a foreign peer is ignored.
      let data: Uint8Array | undefined
      if (event.data instanceof ArrayBuffer) data = new Uint8Array(event.data)
      else if (ArrayBuffer.isView(event.data)) data = new Uint8Array(event.data.buffer, event.data.byteOffset, event.data.byteLength)
      if (!data) return
      if (!this.#earlyMessages) return this.events.emit('message', data, name)
      // Bounded while connecting; once open they are delivered at the next turn whatever their number.
      if (this.#state === 'connecting') {
        if (this.#earlyMessages.length >= MAX_EARLY_MESSAGES)
          return this.#finish({ reason: 'failed', message: `more than ${MAX_EARLY_MESSAGES} messages before the link opened` })
        this.#earlyBytes += data.byteLength
        if (this.#earlyBytes > MAX_EARLY_BYTES)
          return this.#finish({ reason: 'failed', message: `more than ${MAX_EARLY_BYTES} bytes of messages before the link opened` })
      }
      this.#earlyMessages.push([data, name])
    }
    // Either lane closing ends the link: a link that lost a lane cannot keep its guarantees.
    channel.onclose = () => {
      const lane = this.#lanes[name]
      // wrtc has released the channel's native handle by now: never call into it again.
      lane.closing = true
      lane.open = false
      this.#finishAfterLastMessages({ reason: this.#state === 'closing' ? 'closed' : 'remote-closed', message: `the ${name} data channel closed` })
    }
  }

  #deliverEarlyMessages(): void {
    const early = this.#earlyMessages ?? []
    this.#earlyMessages = undefined
    this.#earlyBytes = 0
    for (const [data, lane] of early) {
      if (this.#state === 'closed') return
      this.events.emit('message', data, lane)
    }
  }

  #waitForDrain(lane: Lane, wake: () => void): void {
    const channel = lane.channel
    if ('onbufferedamountlow' in (channel as object)) {
      channel.bufferedAmountLowThreshold = lane.highWaterMarkBytes / 2
      channel.addEventListener('bufferedamountlow', () => wake(), { once: true })
      return
    }
    const poll = () => {
      if (this.#state === 'closed' || !lane.open) return
      if (channel.bufferedAmount < lane.highWaterMarkBytes / 2) wake()
      else setTimeout(poll, DRAIN_POLL_MS)
    }
    setTimeout(poll, DRAIN_POLL_MS)
  }

  #finish(info: LinkCloseInfo): void {
    if (this.#state === 'closed') return
    const wasConnecting = this.#state === 'connecting'
    this.#state = 'closed'
    // Closing a connection from this side fires no change event: the cached state says it here.
    this.#connectionState = 'closed'
    clearTimeout(this.#connectTimer)
    const error = new MeshscopeError('LINK_CLOSED', `the link closed: ${info.message}`)
    for (const name of LANES) {
      this.#lanes[name].open = false
      this.#lanes[name].queue.fail(error)
    }
    if (wasConnecting) this.#rejectOpened(new MeshscopeError(info.reason === 'timeout' ? 'TIMEOUT' : 'LINK_FAILED', info.message))
    this.#outgoingCandidates.clear()
    clearTimeout(this.#heldDescription?.timer)
    clearTimeout(this.#heldDescription?.closing)
    this.#heldDescription = undefined
    this.#pc.onicecandidate = null
    this.#pc.onconnectionstatechange = null
    for (const name of LANES) {
      const channel = this.#lanes[name].channel
      channel.onopen = null
      channel.onmessage = null
      channel.onclose = null
    }
    // Only the connection is closed here, which closes both channels with it: wrtc closes them on its
    // own thread while this one waits, whereas closing a channel the peer is closing at the same
    // moment, or any channel after its connection, can crash it (docs/architecture.md, "wrtc's fragile close").
    for (const name of LANES) {
      this.#lanes[name].closing = true
      this.#lanes[name].open = false
    }
    try {
      this.#pc.close()
    } catch {
      // closing a connection that already failed may throw in some implementations; it is closed either way
    }
    retainWhileSettling([this.#pc, ...LANES.map((name) => this.#lanes[name].channel)])
    this.events.emit('close', info)
    this.events.removeAllListeners()
  }
}

/**
 * Keeps a closed link's connection and channels referenced for CLOSED_RETAIN_MS, so they are not
 * collected while wrtc may still call back into them (Node: the timer does not keep the process alive).
 */
function retainWhileSettling(objects: object[]): void {
  for (const object of objects) recentlyClosed.add(object)
  const timer = setTimeout(() => {
    for (const object of objects) recentlyClosed.delete(object)
  }, CLOSED_RETAIN_MS)
  ;(timer as { unref?: () => void }).unref?.()
}
