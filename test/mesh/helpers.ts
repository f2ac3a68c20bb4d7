import wrtc from '@roamhq/wrtc'
import { WebSocket } from 'ws'
import { Mesh } from '../../src/mesh/mesh.js'
import type { MeshJoinOptions } from '../../src/mesh/options.js'
import type { Platform } from '../../src/mesh/platform.js'
import { createSignalingServer, type SignalingServer } from '../../signaling/index.js'
import type { SignalingServerOptions } from '../../signaling/options.js'

/** Node's platform, passed explicitly so these tests do not depend on `meshscope/node`'s side effect. */
export const nodePlatform = { RTCPeerConnection: wrtc.RTCPeerConnection, WebSocket } as unknown as Platform

export async function startServer(options: SignalingServerOptions = {}): Promise<SignalingServer> {
  const server = createSignalingServer({ port: 0, host: '127.0.0.1', log: () => {}, ...options })
  await server.ready
  return server
}

export function joinMesh(url: string, room: string, options: Partial<MeshJoinOptions> = {}): Promise<Mesh> {
  return Mesh.join({ signaling: url, room, platform: nodePlatform, ...options })
}

export async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

export async function fullMesh(meshes: Mesh[], timeoutMs = 10_000): Promise<void> {
  await until('a full mesh', () => meshes.every((mesh) => mesh.peers.length === meshes.length - 1), timeoutMs)
}
