/**
 * meshscope for Node: everything from the browser entry, with `@roamhq/wrtc` (RTCPeerConnection) and
 * `ws` (WebSocket) installed as the platform on import, and identities persisted to files.
 *
 * Close every mesh before the process exits: wrtc can crash at teardown while connections are open.
 */
import wrtc from '@roamhq/wrtc'
import { WebSocket } from 'ws'
import { installPlatform } from './mesh/platform.js'
import type { WebSocketConstructor } from './signaling/client.js'
import type { RtcPeerConnectionConstructor } from './transport/webrtc-link.js'

installPlatform({
  RTCPeerConnection: wrtc.RTCPeerConnection as unknown as RtcPeerConnectionConstructor,
  WebSocket: WebSocket as unknown as WebSocketConstructor,
})

export * from './index.js'
export { fileIdentityStore } from './identity/file-store.js'
