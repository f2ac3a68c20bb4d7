/**
 * The first RTCPeerConnection of a process costs more than the next ones: wrtc starts its threads
 * and factory (~10 ms here, against ~1.5 ms for the second), a browser sets its WebRTC stack up. A
 * joining peer makes one while it waits for the signaling server's welcome, so the first link's
 * offer or answer does not pay for it — and keeps it as a spare that the first link then takes,
 * rather than closing it and making another: a connection and a close fewer per join, each a
 * synchronous call into wrtc's signaling thread (docs/architecture.md, "Forming a mesh").
 */
import type { RtcPeerConnectionConstructor } from '../transport/webrtc-link.js'

/** One fresh, unused connection made ahead of need; the first link takes it, the rest make their own. */
export class SparePeerConnection {
  #connection: RTCPeerConnection | undefined

  /** Makes the connection now, configured as the mesh's links are; never throws (the real link reports what fails). */
  constructor(RTCPeerConnection: RtcPeerConnectionConstructor, iceServers: RTCIceServer[]) {
    try {
      this.#connection = new RTCPeerConnection({ iceServers })
    } catch {
      // a platform that cannot make one now will say so when a link needs one
    }
  }

  /** The spare, once: undefined after it was taken or closed. */
  take(): RTCPeerConnection | undefined {
    const connection = this.#connection
    this.#connection = undefined
    return connection
  }

  /** Closes the spare if no link took it (the mesh closes). Idempotent. */
  close(): void {
    const connection = this.take()
    try {
      connection?.close()
    } catch {
      // closed either way
    }
  }
}
