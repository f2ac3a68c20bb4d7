/**
 * meshscope for Node: everything from the browser entry, with `@roamhq/wrtc` (RTCPeerConnection) and
 * `ws` (WebSocket) installed as the platform on import, and identities persisted to files.
 *
 * `@roamhq/wrtc` is an optional peer dependency (a browser app should not install a native WebRTC
 * build): without it, importing this module throws a `MeshscopeError` with code `PLATFORM_MISSING`
 * whose message says `npm install @roamhq/wrtc`.
 *
 * Close every mesh (await `close()`, which resolves once every connection is closed) before the
 * process exits: wrtc can crash at teardown while connections are open.
 */
import { createRequire } from 'node:module'
import { WebSocket } from 'ws'
import { MeshscopeError } from './errors.js'
import { installPlatform } from './mesh/platform.js'
import type { WebSocketConstructor } from './signaling/client.js'
import type { RtcPeerConnectionConstructor } from './transport/webrtc-link.js'
import { missingPackage } from './util/missing-package.js'

installPlatform({
  RTCPeerConnection: loadWrtc().RTCPeerConnection as RtcPeerConnectionConstructor,
  WebSocket: WebSocket as unknown as WebSocketConstructor,
})

/**
 * wrtc is loaded on import, not on the first Mesh.join: importing meshscope/node is how a program
 * says it will join a mesh, so a missing wrtc is reported at startup, on the import line, rather than
 * later inside a join; and `Mesh` stays the one class the browser entry exports (loading lazily would
 * need an async step inside Mesh.join or a Node-only subclass). A Node program that brings another
 * RTCPeerConnection imports 'meshscope' and passes `platform` to Mesh.join instead.
 * wrtc is CommonJS, so a synchronous require loads it without top-level await, which keeps
 * `require('meshscope/node')` working (require of ES modules, Node ≥ 20.19).
 */
function loadWrtc(): { RTCPeerConnection: unknown } {
  try {
    return createRequire(import.meta.url)('@roamhq/wrtc') as { RTCPeerConnection: unknown }
  } catch (error) {
    if (!missingPackage(error, ['@roamhq/wrtc'])) throw error
    throw new MeshscopeError('PLATFORM_MISSING', 'meshscope/node needs @roamhq/wrtc (WebRTC for Node), which is not installed: npm install @roamhq/wrtc', {
      cause: error,
    })
  }
}

export * from './index.js'
export { fileIdentityStore } from './identity/file-store.js'
