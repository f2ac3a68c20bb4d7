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

export const memorySessionPair: SessionPairFactory = async (config = {}) => {
  const { a: linkA, b: linkB, sever } = createMemoryLinkPair()
  const a = new MuxSession(linkA, { initiator: true, config: config.a })
  const b = new MuxSession(linkB, { initiator: false, config: config.b })
  await Promise.all([a.ready, b.ready])
  return { a, b, links: { a: linkA, b: linkB }, sever, dispose: async () => abortBoth(a, b) }
}

const RTCPeerConnection = wrtc.RTCPeerConnection as unknown as RtcPeerConnectionConstructor

export const wrtcSessionPair: SessionPairFactory = async (config = {}) => {
  const deliver = (to: () => WebRtcLink) => (signal: RtcSignal) => void to().acceptSignal(signal)
  const linkA: WebRtcLink = new WebRtcLink({ initiator: true, RTCPeerConnection, sendSignal: deliver(() => linkB) })
  const linkB: WebRtcLink = new WebRtcLink({ initiator: false, RTCPeerConnection, sendSignal: deliver(() => linkA) })
  await Promise.all([linkA.opened, linkB.opened])
  const a = new MuxSession(linkA, { initiator: true, config: config.a })
  const b = new MuxSession(linkB, { initiator: false, config: config.b })
  await Promise.all([a.ready, b.ready])
  return {
    a,
    b,
    links: { a: linkA, b: linkB },
    sever: () => {
      linkA.close()
      linkB.close()
    },
    dispose: async () => abortBoth(a, b),
  }
}

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
