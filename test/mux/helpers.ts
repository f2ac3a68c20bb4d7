import wrtc from '@roamhq/wrtc'
import type { MuxConfig } from '../../src/mux/config.js'
import { MuxSession } from '../../src/mux/session.js'
import type { MuxStream } from '../../src/mux/stream.js'
import type { Link } from '../../src/transport/link.js'
import { createMemoryLinkPair } from '../../src/transport/memory-link.js'
import { WebRtcLink, type RtcPeerConnectionConstructor, type RtcSignal } from '../../src/transport/webrtc-link.js'

export interface SessionPair {
  a: MuxSession
  b: MuxSession
  links: { a: Link; b: Link }
  sever(): void
  dispose(): Promise<void>
}

export type SessionPairFactory = (config?: { a?: Partial<MuxConfig>; b?: Partial<MuxConfig> }) => Promise<SessionPair>

/** Two open links to each other, for sessions (or peer stacks) to run on. */
export interface LinkPair {
  a: Link
  b: Link
  sever(): void
}

export async function memoryLinkPair(): Promise<LinkPair> {
  const { a, b, sever } = createMemoryLinkPair()
  return { a, b, sever }
}

const RTCPeerConnection = wrtc.RTCPeerConnection as unknown as RtcPeerConnectionConstructor

export async function wrtcLinkPair(): Promise<LinkPair> {
  const deliver = (to: () => WebRtcLink) => (signal: RtcSignal) => void to().acceptSignal(signal)
  const a: WebRtcLink = new WebRtcLink({ initiator: true, RTCPeerConnection, sendSignal: deliver(() => b) })
  const b: WebRtcLink = new WebRtcLink({ initiator: false, RTCPeerConnection, sendSignal: deliver(() => a) })
  await Promise.all([a.opened, b.opened])
  return {
    a,
    b,
    sever: () => {
      a.close()
      b.close()
    },
  }
}

const sessionPairOver =
  (linkPair: () => Promise<LinkPair>): SessionPairFactory =>
  async (config = {}) => {
    const links = await linkPair()
    const a = new MuxSession(links.a, { initiator: true, config: config.a })
    const b = new MuxSession(links.b, { initiator: false, config: config.b })
    await Promise.all([a.ready, b.ready])
    return sessionPairOf(a, b, links)
  }

/** Two sessions running on a link pair, seen as a SessionPair (the sessions are built elsewhere: a peer stack). */
export function sessionPairOf(a: MuxSession, b: MuxSession, links: LinkPair): SessionPair {
  return { a, b, links: { a: links.a, b: links.b }, sever: links.sever, dispose: async () => abortBoth(a, b) }
}

export const memorySessionPair: SessionPairFactory = sessionPairOver(memoryLinkPair)
export const wrtcSessionPair: SessionPairFactory = sessionPairOver(wrtcLinkPair)

/** The next request stream the session's peer opens. */
export function nextIncoming(session: MuxSession): Promise<MuxStream> {
  return new Promise((resolve) => session.events.once('stream', resolve))
}

export async function readAll(stream: MuxStream): Promise<Uint8Array[]> {
  const messages: Uint8Array[] = []
  for (;;) {
    const message = await stream.receive()
    if (message === null) return messages
    messages.push(message)
  }
}

export function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length)
  let x = seed * 2654435761
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    bytes[i] = x >>> 24
  }
  return bytes
}

export const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms))

/** Byte equality without vitest's element-by-element deep equal, which takes seconds on megabytes. */
export function sameBytes(actual: Uint8Array | null, expected: Uint8Array): boolean {
  if (!actual || actual.byteLength !== expected.byteLength) return false
  for (let i = 0; i < actual.byteLength; i++) if (actual[i] !== expected[i]) return false
  return true
}

function abortBoth(a: MuxSession, b: MuxSession): void {
  a.abort()
  b.abort()
}
