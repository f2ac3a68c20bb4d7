/**
 * The first RTCPeerConnection of a process costs more than the next ones: wrtc starts its threads
 * and factory (~10 ms here, against ~1.5 ms for the second), a browser sets its WebRTC stack up. A
 * joining peer makes that first one while it waits for the signaling server's welcome, so the first
 * link's offer or answer does not pay for it (docs/architecture.md, "Forming a mesh").
 */
import type { RtcPeerConnectionConstructor } from '../transport/webrtc-link.js'

const warmed = new WeakSet<RtcPeerConnectionConstructor>()

/** Creates and closes one connection, once per constructor; never throws (the real link reports what fails). */
export function warmUpPeerConnections(RTCPeerConnection: RtcPeerConnectionConstructor): void {
  if (warmed.has(RTCPeerConnection)) return
  warmed.add(RTCPeerConnection)
  try {
    new RTCPeerConnection({ iceServers: [] }).close()
  } catch {
    // a platform that cannot make one now will say so when a link needs one
  }
}
