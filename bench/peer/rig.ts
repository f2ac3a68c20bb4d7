/**
 * One side of a benchmark link — the same code runs in a Chromium tab (bench/page/) and in a Node
 * process (bench/node-peer.ts), which hand it their RTCPeerConnection and a way to relay signals.
 *
 * Each side holds one RTCPeerConnection (no STUN, host candidates only) with two pre-negotiated data
 * channels on its single SCTP association:
 * - id 0: the library's WebRtcLink, carrying the peer stack the mesh builds (./mux.ts);
 * - id 1: a raw RTCDataChannel for the baselines (./raw.ts).
 * Sharing the association means raw and mux runs see the same congestion state and the same warm-up.
 */
import { WebRtcLink, type RtcPeerConnectionConstructor, type RtcSignal } from '../../src/transport/webrtc-link.js'
import type { MuxConfig } from '../../src/mux/config.js'
import { MuxWorkloads } from './mux.js'
import { operations, type OperationArgs, type OperationName, type OperationResult } from './operations.js'
import { RawBaseline } from './raw.js'

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
  /** The latency lane's (data channel id 1) RTCDataChannelInit `priority` (webrtc-priority): does the SCTP scheduler honour it? */
  latencyLanePriority?: 'very-low' | 'low' | 'medium' | 'high'
}

export class BenchPeer {
  readonly ready: Promise<void>
  readonly link: WebRtcLink
  readonly raw: RawBaseline
  /** A second raw channel, for the raw lane probe (pings beside bulk data queued in `raw`). */
  readonly rawLane: RawBaseline
  #pc: RTCPeerConnection
  #mux?: MuxWorkloads
  #closing = false
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
      const priority = options.tuning?.latencyLanePriority
      if (priority) {
        const create = pc.createDataChannel.bind(pc)
        pc.createDataChannel = (label: string, init?: RTCDataChannelInit) =>
          create(label, init?.id === 1 ? ({ ...init, priority } as RTCDataChannelInit) : init)
      }
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
    // Ids 0 and 1 are the link's (its bulk channel and its latency lane).
    const raw = new RawBaseline(this.#pc.createDataChannel('bench-raw', { negotiated: true, id: 2, ordered: true }))
    this.raw = raw
    const rawLane = new RawBaseline(this.#pc.createDataChannel('bench-raw-lane', { negotiated: true, id: 3, ordered: true }))
    this.rawLane = rawLane
    this.ready = (async () => {
      await link.opened
      const mux = new MuxWorkloads(link, { initiator: options.initiator, muxConfig: options.tuning?.muxConfig, rawRoundTrips: () => raw.roundTrips() })
      this.#mux = mux
      mux.stack.session.events.on('close', (info) => {
        if (this.#closing) return
        const message = `${options.initiator ? 'a' : 'b'}: the mux session ended (${info.reason}: ${info.message})`
        this.failure ??= message
        this.#fail(new Error(message))
      })
      await Promise.all([mux.stack.session.ready, raw.opened, rawLane.opened])
    })()
  }

  /** The multiplexed workloads, once `ready`. */
  get mux(): MuxWorkloads {
    if (!this.#mux) throw new Error('the link is not open yet')
    return this.#mux
  }

  acceptSignal(signal: RtcSignal): Promise<void> {
    return this.link.acceptSignal(signal)
  }

  close(): void {
    this.#closing = true
    this.#mux?.stack.session.abort('benchmark over')
    try {
      this.raw.close()
      this.rawLane.close()
      this.#pc.close()
    } catch {
      // already closed
    }
  }

  /** Runs one measurement (the runner's entry point); rejects if the link dies meanwhile. */
  run<Name extends OperationName>(name: Name, args: OperationArgs<Name>): Promise<OperationResult<Name>> {
    const operation = operations[name] as (peer: BenchPeer, args: OperationArgs<Name>) => Promise<OperationResult<Name>>
    return Promise.race([operation(this, args), this.#failed])
  }
}
