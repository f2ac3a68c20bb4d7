import wrtc from '@roamhq/wrtc'
import { describe, expect, it, vi } from 'vitest'
import { MAX_CANDIDATES_PER_SIGNAL } from '../../src/transport/candidate-batch.js'
import { WebRtcLink, type RtcPeerConnectionConstructor, type RtcSignal } from '../../src/transport/webrtc-link.js'
import { linkCompliance } from './link-compliance.js'

const RTCPeerConnection = wrtc.RTCPeerConnection as unknown as RtcPeerConnectionConstructor

/** Two wrtc links wired to each other's signals directly (no server). */
function createWrtcPair(options: { connectTimeoutMs?: number; dropSignals?: boolean } = {}) {
  const deliver = (to: () => WebRtcLink) => (signal: RtcSignal) => {
    if (!options.dropSignals) void to().acceptSignal(signal)
  }
  const a: WebRtcLink = new WebRtcLink({ initiator: true, RTCPeerConnection, sendSignal: deliver(() => b), connectTimeoutMs: options.connectTimeoutMs })
  const b: WebRtcLink = new WebRtcLink({ initiator: false, RTCPeerConnection, sendSignal: deliver(() => a), connectTimeoutMs: options.connectTimeoutMs })
  return { a, b }
}

linkCompliance(
  'wrtc data channel',
  async () => {
    const { a, b } = createWrtcPair()
    await Promise.all([a.opened, b.opened])
    return {
      a,
      b,
      async dispose() {
        a.close()
        b.close()
      },
    }
  },
  { flushesOnClose: false },
)

describe('WebRtcLink', () => {
  it('queues sends made while connecting and delivers them once open', async () => {
    const { a, b } = createWrtcPair()
    const received: number[] = []
    b.events.on('message', (data) => received.push(data[0]!))
    expect(a.state).toBe('connecting')
    const sent = [a.send(Uint8Array.of(1)), a.send(Uint8Array.of(2))]
    await Promise.all(sent)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(received).toEqual([1, 2])
    a.close()
    b.close()
  })

  it('sends its ICE candidates in batches, not one signal per candidate', async () => {
    const signals: Record<'a' | 'b', RtcSignal[]> = { a: [], b: [] }
    const deliver = (from: 'a' | 'b', to: () => WebRtcLink) => (signal: RtcSignal) => {
      signals[from].push(signal)
      void to().acceptSignal(signal)
    }
    const a: WebRtcLink = new WebRtcLink({ initiator: true, RTCPeerConnection, sendSignal: deliver('a', () => b) })
    const b: WebRtcLink = new WebRtcLink({ initiator: false, RTCPeerConnection, sendSignal: deliver('b', () => a) })
    await Promise.all([a.opened, b.opened])
    let candidates = 0
    for (const side of ['a', 'b'] as const) {
      const batches = signals[side].filter((signal) => signal.kind === 'candidates')
      candidates += batches.flatMap((signal) => signal.candidates).length
      // The first ones travel inside the offer or answer (description-candidates.ts).
      for (const signal of signals[side]) if (signal.kind === 'description') candidates += signal.sdp.split('\na=candidate:').length - 1
      // Host candidates are gathered within a few milliseconds: one batch, or two on a busy machine.
      // None is possible too: a side whose batch was due after ICE connected sends nothing.
      expect(batches.length).toBeLessThanOrEqual(2)
    }
    expect(candidates).toBeGreaterThan(0)
    a.close()
    b.close()
  })

  it('closes as failed on a batch of more candidates than a signal may carry', async () => {
    const { a, b } = createWrtcPair({ dropSignals: true })
    const closed = new Promise((resolve) => b.events.once('close', resolve))
    const candidates = Array.from({ length: MAX_CANDIDATES_PER_SIGNAL + 1 }, (_, n) => ({
      candidate: `candidate:${n} 1 udp 1 127.0.0.1 ${4000 + n} typ host`,
      sdpMid: '0',
      sdpMLineIndex: 0,
    }))
    await b.acceptSignal({ kind: 'candidates', candidates })
    expect(await closed).toMatchObject({ reason: 'failed' })
    a.close()
  })

  it('times out when signals never arrive, rejecting opened and pending sends', async () => {
    const { a, b } = createWrtcPair({ connectTimeoutMs: 300, dropSignals: true })
    const pending = a.send(Uint8Array.of(1))
    const closed = new Promise((resolve) => a.events.once('close', resolve))
    await expect(a.opened).rejects.toMatchObject({ code: 'TIMEOUT' })
    await expect(pending).rejects.toMatchObject({ code: 'LINK_CLOSED' })
    expect(await closed).toMatchObject({ reason: 'timeout' })
    b.close()
  })

  it('closes as failed on a garbage description instead of throwing', async () => {
    const { a, b } = createWrtcPair({ dropSignals: true })
    const closed = new Promise((resolve) => b.events.once('close', resolve))
    await b.acceptSignal({ kind: 'description', type: 'offer', sdp: 'v=0 this is not sdp' })
    expect(await closed).toMatchObject({ reason: 'failed' })
    a.close()
  })

  // The state is cached from the connection's change events (a state read is a cross-thread call in
  // wrtc): it must follow the connection up, and say `closed` however the link ends, since closing
  // from this side fires no change event.
  it('reports its connection state from events: connected when up, closed once the link ends', async () => {
    const { a, b } = createWrtcPair()
    expect(a.connectionState).toBe('new')
    await Promise.all([a.opened, b.opened])
    await vi.waitFor(() => expect([a.connectionState, b.connectionState]).toEqual(['connected', 'connected']))
    const bClosed = new Promise((resolve) => b.events.once('close', resolve))
    a.close()
    await vi.waitFor(() => expect(a.state).toBe('closed'))
    expect(a.connectionState).toBe('closed')
    // The other side learns it from its channels closing, not from a state change.
    expect(await bClosed).toMatchObject({ reason: 'remote-closed' })
    expect(b.connectionState).toBe('closed')
  })

  it('reports closed after a link that failed or timed out, whatever the connection reported before', async () => {
    const timedOut = createWrtcPair({ connectTimeoutMs: 200, dropSignals: true })
    await expect(timedOut.a.opened).rejects.toMatchObject({ code: 'TIMEOUT' })
    expect(timedOut.a.connectionState).toBe('closed')
    timedOut.b.close()
    expect(timedOut.b.connectionState).toBe('closed')

    const { a, b } = createWrtcPair({ dropSignals: true })
    const closed = new Promise((resolve) => b.events.once('close', resolve))
    await b.acceptSignal({ kind: 'description', type: 'offer', sdp: 'v=0 this is not sdp' })
    expect(await closed).toMatchObject({ reason: 'failed' })
    expect(b.connectionState).toBe('closed')
    a.close()
  })
})

describe('WebRtcLink descriptions', () => {
  /** A wrtc connection that notes whether its local description was applied when each signal left. */
  function recordingConnection(applied: { done: boolean }): RtcPeerConnectionConstructor {
    return class extends (wrtc.RTCPeerConnection as unknown as RtcPeerConnectionConstructor) {
      override async setLocalDescription(description?: RTCLocalSessionDescriptionInit): Promise<void> {
        await super.setLocalDescription(description)
        applied.done = true
      }
    }
  }

  it('sends its offer and its answer while applying them, with its first candidates in them, and both sides open', async () => {
    const appliedA = { done: false }
    const appliedB = { done: false }
    const sentBeforeApplied: string[] = []
    const signals: RtcSignal[] = []
    const deliver = (applied: { done: boolean }, to: () => WebRtcLink) => (signal: RtcSignal) => {
      signals.push(signal)
      if (signal.kind === 'description' && !applied.done) sentBeforeApplied.push(signal.type)
      void to().acceptSignal(signal)
    }
    // A long wait, so a busy machine cannot make the descriptions leave before their first candidates.
    const options = { descriptionCandidateWaitMs: 5_000 }
    const a: WebRtcLink = new WebRtcLink({
      initiator: true,
      RTCPeerConnection: recordingConnection(appliedA),
      sendSignal: deliver(appliedA, () => b),
      ...options,
    })
    const b: WebRtcLink = new WebRtcLink({
      initiator: false,
      RTCPeerConnection: recordingConnection(appliedB),
      sendSignal: deliver(appliedB, () => a),
      ...options,
    })
    await Promise.all([a.opened, b.opened])
    // Each description went out once, before any candidate signal of its side, with candidate lines in it.
    const descriptions = signals.filter((signal) => signal.kind === 'description')
    expect(descriptions.map((signal) => signal.type)).toEqual(['offer', 'answer'])
    for (const description of descriptions) expect(description.sdp).toMatch(/\r\na=candidate:\S+ \d+ \S+ \d+ \S+ \d+ typ host/)
    const received = new Promise<Uint8Array>((resolve) => b.events.once('message', resolve))
    await a.send(Uint8Array.of(7))
    expect([...(await received)]).toEqual([7])
    a.close()
    b.close()
  })

  it('sends its description without candidates once the wait after applying it is over', async () => {
    const signals: RtcSignal[] = []
    // No candidate ever: a connection whose gathering this test never lets start reporting.
    class Silent extends (wrtc.RTCPeerConnection as unknown as RtcPeerConnectionConstructor) {
      override set onicecandidate(_handler: unknown) {}
      override get onicecandidate(): null {
        return null
      }
    }
    const a = new WebRtcLink({ initiator: true, RTCPeerConnection: Silent, sendSignal: (signal) => signals.push(signal), descriptionCandidateWaitMs: 20 })
    await vi.waitFor(() => expect(signals.map((signal) => signal.kind)).toEqual(['description']), { timeout: 5_000 })
    expect(signals[0]).toMatchObject({ kind: 'description', type: 'offer' })
    expect((signals[0] as { sdp: string }).sdp).not.toContain('a=candidate:')
    a.close()
  })

  it('relies on wrtc applying an answer given before its offer was applied after it (operations chain)', async () => {
    const offerer = new RTCPeerConnection({ iceServers: [] })
    const answerer = new RTCPeerConnection({ iceServers: [] })
    try {
      offerer.createDataChannel('x', { negotiated: true, id: 0 })
      answerer.createDataChannel('x', { negotiated: true, id: 0 })
      const offer = await offerer.createOffer()
      await answerer.setRemoteDescription(offer)
      const answer = await answerer.createAnswer()
      // Both in one turn: the answer's call must wait for the offer's, not fail in state `stable`.
      await Promise.all([offerer.setLocalDescription(offer), offerer.setRemoteDescription(answer)])
      expect(offerer.signalingState).toBe('stable')
      expect(offerer.remoteDescription?.type).toBe('answer')
    } finally {
      offerer.close()
      answerer.close()
    }
  })
})
