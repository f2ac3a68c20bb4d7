/**
 * A connection prepared ahead of need (src/transport/prepared-connection.ts): made with its lanes
 * before the peer is known, then taken over by a link, as the initiator or as the answering side.
 */
import wrtc from '@roamhq/wrtc'
import { describe, expect, it } from 'vitest'
import type { LinkLane } from '../../src/transport/link.js'
import { PreparedConnection } from '../../src/transport/prepared-connection.js'
import { WebRtcLink, type RtcPeerConnectionConstructor, type RtcSignal } from '../../src/transport/webrtc-link.js'

const RTCPeerConnection = wrtc.RTCPeerConnection as unknown as RtcPeerConnectionConstructor

function pair(prepared: { a?: PreparedConnection; b?: PreparedConnection }) {
  const deliver = (to: () => WebRtcLink) => (signal: RtcSignal) => void to().acceptSignal(signal)
  const a: WebRtcLink = new WebRtcLink({ initiator: true, RTCPeerConnection, prepared: prepared.a, sendSignal: deliver(() => b) })
  const b: WebRtcLink = new WebRtcLink({ initiator: false, RTCPeerConnection, prepared: prepared.b, sendSignal: deliver(() => a) })
  return { a, b }
}

async function crosses(from: WebRtcLink, to: WebRtcLink, lane: LinkLane, byte: number): Promise<void> {
  const received = new Promise<[number, LinkLane]>((resolve) => to.events.once('message', (data, on) => resolve([data[0]!, on])))
  await from.send(Uint8Array.of(byte), lane)
  expect(await received).toEqual([byte, lane])
}

describe('PreparedConnection', () => {
  it('is taken over with its lanes by an initiator and by an answering side: both lanes carry messages each way', async () => {
    const prepared = { a: new PreparedConnection(RTCPeerConnection, []), b: new PreparedConnection(RTCPeerConnection, []) }
    const { a, b } = pair(prepared)
    await Promise.all([a.opened, b.opened])
    // The link runs on the prepared channels, not on channels of its own.
    expect(prepared.a.channels.latency.readyState).toBe('open')
    expect(prepared.b.channels.bulk.readyState).toBe('open')
    await crosses(a, b, 'latency', 1)
    await crosses(b, a, 'latency', 2)
    await crosses(a, b, 'bulk', 3)
    await crosses(b, a, 'bulk', 4)
    a.close()
    b.close()
  })

  it('a prepared side links with a side that made its own connection', async () => {
    const { a, b } = pair({ b: new PreparedConnection(RTCPeerConnection, []) })
    await Promise.all([a.opened, b.opened])
    await crosses(a, b, 'bulk', 5)
    a.close()
    b.close()
  })

  it('close() closes a connection no link took', () => {
    const prepared = new PreparedConnection(RTCPeerConnection, [])
    prepared.close()
    expect(prepared.pc.connectionState).toBe('closed')
  })
})
