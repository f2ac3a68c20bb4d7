/**
 * What one formation-benchmark peer does, in a Node process (node.ts) or a Chromium tab (page/main.ts):
 * join a room and report when every other member is linked, or take part in a join → first message
 * measurement, or the same over two bare RTCPeerConnections (the floor). Times are absolute
 * (`performance.timeOrigin + performance.now()`), so the runner can subtract times taken in two processes.
 */
import { Mesh } from '../../src/mesh/mesh.js'
import type { Platform } from '../../src/mesh/platform.js'
import { type StageStamps, tracedPeerConnection, tracedWebSocket } from './stage-trace.js'

/** An absolute high-resolution time, comparable between processes and tabs of one machine. */
export const now = (): number => performance.timeOrigin + performance.now()

export interface FormationReport {
  /** When this peer had every other member linked (absolute ms). */
  formedAt: number
  /** When the server welcomed it (absolute ms). */
  welcomedAt: number
  /** Refusals the signaling server sent this peer, by code. */
  refusals: Record<string, number>
  /** How often the signaling socket dropped and reconnected. */
  reconnects: number
  /** Links that ended while the room formed, by reason (a failed attempt is retried after a backoff). */
  leaves: Record<string, number>
}

let mesh: Mesh | undefined

function countRefusals(joined: Mesh): { refusals: Record<string, number>; leaves: Record<string, number>; reconnects: () => number } {
  const refusals: Record<string, number> = {}
  const leaves: Record<string, number> = {}
  let reconnects = 0
  joined.on('error', (error) => {
    if (error.message.startsWith('signaling server:')) refusals[error.code] = (refusals[error.code] ?? 0) + 1
  })
  joined.on('peer:leave', (_peer, reason) => void (leaves[reason] = (leaves[reason] ?? 0) + 1))
  joined.on('signaling', (state) => {
    if (state === 'reconnecting') reconnects++
  })
  return { refusals, leaves, reconnects: () => reconnects }
}

/** Joins `room` and resolves once `members - 1` peers are linked (session ready: messages can flow). */
export async function joinAndForm(platform: Partial<Platform> | undefined, url: string, room: string, members: number): Promise<FormationReport> {
  mesh = await Mesh.join({ signaling: url, room, ...(platform ? { platform } : {}) })
  const welcomedAt = now()
  const joined = mesh
  const counted = countRefusals(joined)
  if (joined.peers.length < members - 1) {
    await new Promise<void>((resolve) => {
      const off = joined.on('peer:join', () => {
        if (joined.peers.length >= members - 1) {
          off()
          resolve()
        }
      })
    })
  }
  return { formedAt: now(), welcomedAt, refusals: counted.refusals, leaves: counted.leaves, reconnects: counted.reconnects() }
}

/**
 * Diagnosis of join → first message (FORMATION_TRACE=1): each side's stages, stamped by a traced
 * RTCPeerConnection (stage-trace.ts) and by the roles below. Empty unless tracing.
 */
export const stages: StageStamps = {}

/** `platform` with a traced RTCPeerConnection when `trace` is set, so the mesh's links stamp `stages`. */
function tracedPlatform(platform: Partial<Platform> | undefined, trace: boolean): Partial<Platform> | undefined {
  if (!trace) return platform
  for (const stage of Object.keys(stages)) delete stages[stage]
  const globals = globalThis as Partial<Platform>
  const RTCPeerConnection = tracedPeerConnection((platform?.RTCPeerConnection ?? globals.RTCPeerConnection)!, stages)
  return { ...platform, RTCPeerConnection, WebSocket: tracedWebSocket((platform?.WebSocket ?? globals.WebSocket)!, stages) }
}

/** The waiting side of join → first message: joins, then resolves with when the first message arrived. */
export async function waitForFirstMessage(
  platform: Partial<Platform> | undefined,
  url: string,
  room: string,
  trace = false,
): Promise<{ joined: Promise<void>; received: Promise<number> }> {
  let resolveReceived!: (at: number) => void
  const received = new Promise<number>((resolve) => (resolveReceived = resolve))
  const used = tracedPlatform(platform, trace)
  const joining = Mesh.join({ signaling: url, room, ...(used ? { platform: used } : {}) }).then((joined) => {
    mesh = joined
    if (trace) joined.once('peer:join', () => void (stages.linked ??= now()))
    joined.register('first', () => resolveReceived(now()))
  })
  return { joined: joining, received }
}

/** When the joining side of join → first message was welcomed and linked (absolute ms), for diagnosis. */
export const firstMessageTrace: { welcomedAt?: number; linkedAt?: number } = {}

/** The joining side of join → first message: returns when `Mesh.join` was called; sends to the first peer it links to. */
export function joinAndSendFirst(platform: Partial<Platform> | undefined, url: string, room: string, trace = false): number {
  const used = tracedPlatform(platform, trace)
  const startedAt = now()
  void Mesh.join({ signaling: url, room, ...(used ? { platform: used } : {}) }).then((joined) => {
    mesh = joined
    firstMessageTrace.welcomedAt = now()
    const sendTo = (peerId: string) => {
      firstMessageTrace.linkedAt = now()
      if (trace) stages.linked ??= firstMessageTrace.linkedAt
      void joined.send(peerId, 'first', 'hello').catch(() => {})
    }
    if (joined.peers.length > 0) sendTo(joined.peers[0]!)
    else joined.once('peer:join', sendTo)
  })
  return startedAt
}

export async function leave(): Promise<void> {
  await mesh?.close()
  mesh = undefined
}

// ── the floor: two bare RTCPeerConnections ───────────────────────────────────

export type RawSignal = { type: 'offer' | 'answer'; sdp: string } | { candidate: RTCIceCandidateInit }

let raw: RTCPeerConnection | undefined
let rawEarly: RTCIceCandidateInit[] = []
/** The answering side's connection is made when the offer arrives, as meshscope's is: no head start. */
let rawAnswerer: { create: () => RTCPeerConnection } | undefined

/**
 * One side of the raw floor: a connection with one pre-negotiated data channel, its signals handed to
 * `sendSignal`. The initiator creates its connection now and sends a first message once the channel
 * opens; the answering side creates its own when the offer arrives, and resolves `received` with the
 * time the message arrived. Returns when this side started.
 */
export function rawStart(
  RTCPeerConnectionClass: new (config?: RTCConfiguration) => RTCPeerConnection,
  initiator: boolean,
  sendSignal: (signal: RawSignal) => void,
): { startedAt: number; received: Promise<number> } {
  const startedAt = now()
  rawEarly = []
  let resolveReceived!: (at: number) => void
  const received = new Promise<number>((resolve) => (resolveReceived = resolve))
  const create = () => {
    const pc = (raw = new RTCPeerConnectionClass({ iceServers: [] }))
    const channel = pc.createDataChannel('raw', { negotiated: true, id: 0, ordered: true })
    channel.onmessage = () => resolveReceived(now())
    channel.onopen = () => {
      if (initiator) channel.send('hello')
    }
    pc.onicecandidate = (event) => {
      if (event.candidate?.candidate)
        sendSignal({ candidate: { candidate: event.candidate.candidate, sdpMid: event.candidate.sdpMid, sdpMLineIndex: event.candidate.sdpMLineIndex } })
    }
    return pc
  }
  if (!initiator) {
    rawAnswerer = { create }
    return { startedAt, received }
  }
  const pc = create()
  void (async () => {
    const offer = await pc.createOffer()
    await pc.setLocalDescription(offer)
    sendSignal({ type: 'offer', sdp: offer.sdp ?? '' })
  })()
  return { startedAt, received }
}

export async function rawAccept(signal: RawSignal, sendSignal: (signal: RawSignal) => void): Promise<void> {
  if (!raw && rawAnswerer && !('candidate' in signal) && signal.type === 'offer') raw = rawAnswerer.create()
  const pc = raw
  if (!pc) {
    if ('candidate' in signal) rawEarly.push(signal.candidate)
    return
  }
  if ('candidate' in signal) {
    if (pc.remoteDescription) await pc.addIceCandidate(signal.candidate)
    else rawEarly.push(signal.candidate)
    return
  }
  await pc.setRemoteDescription(signal)
  for (const candidate of rawEarly.splice(0)) await pc.addIceCandidate(candidate)
  if (signal.type === 'offer') {
    const answer = await pc.createAnswer()
    await pc.setLocalDescription(answer)
    sendSignal({ type: 'answer', sdp: answer.sdp ?? '' })
  }
}

export function rawClose(): void {
  raw?.close()
  raw = undefined
  rawAnswerer = undefined
}
