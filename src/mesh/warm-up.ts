/**
 * The first RTCPeerConnection of a process costs more than the next ones: wrtc starts its threads
 * and factory (~10 ms here, against ~1.5 ms for the second), a browser sets its WebRTC stack up
 * (~10 ms on the main thread in Chromium). A joining peer makes one, with its lanes' data channels
 * (src/transport/prepared-connection.ts), while its socket connects and the signaling server checks
 * its hello, so the first link's offer or answer does not pay for it — and the first link takes it
 * over rather than making another: a connection and a close fewer per join, each a synchronous call
 * into wrtc's signaling thread (docs/architecture.md, "Forming a mesh").
 */
import { PreparedConnection } from '../transport/prepared-connection.js'
import type { RtcPeerConnectionConstructor } from '../transport/webrtc-link.js'

/** One fresh, unused connection made ahead of need; the first link takes it, the rest make their own. */
export class SparePeerConnection {
  #connection: PreparedConnection | undefined

  /** Makes the connection now, configured as the mesh's links are; never throws (the real link reports what fails). */
  constructor(RTCPeerConnection: RtcPeerConnectionConstructor, iceServers: RTCIceServer[]) {
    try {
      this.#connection = new PreparedConnection(RTCPeerConnection, iceServers)
    } catch {
      // a platform that cannot make one now will say so when a link needs one
    }
  }

  /** The spare, once: undefined after it was taken or closed. */
  take(): PreparedConnection | undefined {
    const connection = this.#connection
    this.#connection = undefined
    return connection
  }

  /** Closes the spare if no link took it (the mesh closes). Idempotent. */
  close(): void {
    this.take()?.close()
  }
}
