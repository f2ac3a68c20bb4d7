/**
 * A hostile peer against WebRtcLink before and around the moment it opens, on a fake
 * RTCPeerConnection whose data channels the test drives (no ICE, no wrtc).
 *
 * - `#earlyMessages` (messages on one lane before the other lane opened) is bounded by count only
 *   (MAX_EARLY_MESSAGES = 64), not by bytes: a peer whose bulk lane is open sends 64 messages as
 *   large as its SCTP stack allows (256 KiB in Chromium) and this side holds 16 MiB per connecting
 *   link, outside every budget, for up to `connectTimeoutMs`. An honest mux sends one HELLO of
 *   a few bytes there, and never a message over MAX_FRAME_BYTES (16 KiB).
 * - Candidate batches: a signal holds at most MAX_CANDIDATES_PER_SIGNAL, but nothing bounds the
 *   batches a link takes: each is handed to addIceCandidate (an ICE check towards an address the
 *   peer chose), also once ICE is connected, where this side itself stops sending any.
 */
import { describe, expect, it } from 'vitest'
import { MAX_CANDIDATES_PER_SIGNAL } from '../../src/transport/candidate-batch.js'
import type { RtcPeerConnectionConstructor } from '../../src/transport/webrtc-link.js'
import { WebRtcLink } from '../../src/transport/webrtc-link.js'

class FakeChannel {
  binaryType = 'blob'
  bufferedAmount = 0
  bufferedAmountLowThreshold = 0
  onopen: (() => void) | null = null
  onmessage: ((event: { data: unknown }) => void) | null = null
  onclose: (() => void) | null = null
  constructor(readonly label: string) {}
  send(): void {}
  close(): void {}
  addEventListener(): void {}
}

class FakePeerConnection {
  static last: FakePeerConnection | undefined
  channels: FakeChannel[] = []
  candidatesAdded = 0
  connectionState = 'new'
  iceConnectionState = 'new'
  onicecandidate: unknown = null
  onconnectionstatechange: unknown = null
  constructor() {
    FakePeerConnection.last = this
  }
  createDataChannel(label: string): FakeChannel {
    const channel = new FakeChannel(label)
    this.channels.push(channel)
    return channel
  }
  async setRemoteDescription(): Promise<void> {}
  async addIceCandidate(): Promise<void> {
    this.candidatesAdded++
  }
  async createAnswer() {
    return { type: 'answer', sdp: 'v=0' }
  }
  async createOffer() {
    return { type: 'offer', sdp: 'v=0' }
  }
  async setLocalDescription(): Promise<void> {}
  close(): void {}
}

function answeringLink(): { link: WebRtcLink; pc: FakePeerConnection } {
  const link = new WebRtcLink({ initiator: false, RTCPeerConnection: FakePeerConnection as unknown as RtcPeerConnectionConstructor, sendSignal: () => {} })
  return { link, pc: FakePeerConnection.last! }
}

describe('WebRtcLink against a hostile peer', () => {
  it('messages held before the other lane opened are bounded in bytes, not only in number', () => {
    const { link, pc } = answeringLink()
    const bulk = pc.channels.find((channel) => channel.label === 'meshscope')!
    bulk.onopen!()
    const messageBytes = 256 * 1024
    // A closed link detaches its handlers (`?.`): the peer's messages after that go nowhere.
    for (let i = 0; i < 64; i++) bulk.onmessage?.({ data: new ArrayBuffer(messageBytes) })
    // 16 MiB now wait in #earlyMessages of a link that is not even open.
    expect(link.state, `64 × ${messageBytes} bytes held before the link opened`).toBe('closed')
    link.close()
  })

  it('a link takes a bounded number of remote candidates, and none once ICE is connected', async () => {
    const { link, pc } = answeringLink()
    await link.acceptSignal({ kind: 'description', type: 'offer', sdp: 'v=0' })
    pc.iceConnectionState = 'connected'
    const batch = Array.from({ length: MAX_CANDIDATES_PER_SIGNAL }, (_, i) => ({
      candidate: `candidate:${i} 1 udp 2122260223 10.0.${i}.1 ${50_000 + i} typ host`,
      sdpMid: '0',
      sdpMLineIndex: 0,
    }))
    for (let signal = 0; signal < 100; signal++) await link.acceptSignal({ kind: 'candidates', candidates: batch })
    expect(link.state).not.toBe('closed') // each batch is within the limits of one signal
    expect(pc.candidatesAdded, '100 batches of 16 candidates, after ICE connected').toBeLessThanOrEqual(64)
    link.close()
  })
})
