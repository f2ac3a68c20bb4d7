/**
 * An RTCPeerConnection made ahead of need with its lanes' data channels (pre-negotiated, so they do
 * not depend on the peer), for one link to take over (`WebRtcLinkOptions.prepared`): the
 * constructor (a browser's WebRTC stack starting up, wrtc's threads) and the channels are off the
 * link's critical path. The offer is not made ahead: measured in Chromium, an offer prepared before
 * the peer was known made some links take 250–430 ms to connect (docs/architecture.md, "Forming a mesh").
 */
import type { LinkLane } from './link.js'

/** The data channel ids of the two lanes (pre-negotiated: both sides use the same). */
export const LANE_CHANNEL_IDS: Record<LinkLane, number> = { bulk: 0, latency: 1 }
export const LANES: readonly LinkLane[] = ['latency', 'bulk']

type RtcPeerConnectionConstructor = new (configuration?: RTCConfiguration) => RTCPeerConnection

/** Creates the lanes' data channels on `pc`, as every link has them. */
export function createLaneChannels(pc: RTCPeerConnection): Record<LinkLane, RTCDataChannel> {
  const create = (name: LinkLane) => {
    const channel = pc.createDataChannel(name === 'bulk' ? 'meshscope' : 'meshscope-latency', { negotiated: true, id: LANE_CHANNEL_IDS[name], ordered: true })
    channel.binaryType = 'arraybuffer'
    return channel
  }
  return { latency: create('latency'), bulk: create('bulk') }
}

/** A fresh connection with its lanes, never used by a link yet. */
export class PreparedConnection {
  readonly pc: RTCPeerConnection
  readonly channels: Record<LinkLane, RTCDataChannel>

  /** Throws what the platform's constructor throws. */
  constructor(RTCPeerConnection: RtcPeerConnectionConstructor, iceServers: RTCIceServer[]) {
    this.pc = new RTCPeerConnection({ iceServers })
    this.channels = createLaneChannels(this.pc)
  }

  /** Closes the connection (no link took it). Never throws. */
  close(): void {
    try {
      for (const name of LANES) this.channels[name].close()
      this.pc.close()
    } catch {
      // closed either way
    }
  }
}
