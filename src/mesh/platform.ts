/**
 * The platform pieces the mesh needs and does not import itself: RTCPeerConnection and WebSocket.
 * Browsers have both as globals. In Node, `meshscope/node` installs `@roamhq/wrtc` and `ws` here on
 * import, so `src/index.ts` stays free of Node code. Tests and unusual hosts pass `platform` explicitly.
 */
import { MeshscopeError } from '../errors.js'
import type { WebSocketConstructor } from '../signaling/client.js'
import type { RtcPeerConnectionConstructor } from '../transport/webrtc-link.js'

export interface Platform {
  RTCPeerConnection: RtcPeerConnectionConstructor
  WebSocket: WebSocketConstructor
}

let installed: Partial<Platform> = {}

/** Sets the defaults used when `Mesh.join` is not given a platform (called by `meshscope/node`). */
export function installPlatform(platform: Partial<Platform>): void {
  installed = { ...installed, ...platform }
}

export function resolvePlatform(override: Partial<Platform> = {}): Platform {
  const globals = globalThis as Partial<Platform>
  const RTCPeerConnection = override.RTCPeerConnection ?? installed.RTCPeerConnection ?? globals.RTCPeerConnection
  const WebSocket = override.WebSocket ?? installed.WebSocket ?? globals.WebSocket
  if (!RTCPeerConnection || !WebSocket) {
    throw new MeshscopeError(
      'INVALID_ARGUMENT',
      `this runtime has no ${RTCPeerConnection ? 'WebSocket' : 'RTCPeerConnection'}: in Node, import { Mesh } from 'meshscope/node'`,
    )
  }
  return { RTCPeerConnection, WebSocket }
}
