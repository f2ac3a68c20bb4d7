import wrtc from '@roamhq/wrtc'
import { WebSocket } from 'ws'
import type { Connection } from '../../src/channels/connection.js'
import { Mesh } from '../../src/mesh/mesh.js'
import type { MeshJoinOptions } from '../../src/mesh/options.js'
import type { Platform } from '../../src/mesh/platform.js'
import { createSignalingServer, type SignalingServer } from '../../signaling/index.js'
import type { SignalingServerOptions } from '../../signaling/options.js'
import { expectNoOpenStreams } from '../leaks.js'
import { until as waitUntil } from '../until.js'

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

/** `until` with the longer default that links over wrtc need. */
export function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  return waitUntil(what, condition, timeoutMs)
}

export async function fullMesh(meshes: Mesh[], timeoutMs = 10_000): Promise<void> {
  await until('a full mesh', () => meshes.every((mesh) => mesh.peers.length === meshes.length - 1), timeoutMs)
}

/** The connections of every open mesh to each of its peers. */
export function connectionsOf(meshes: Mesh[]): Connection[] {
  return meshes
    .filter((mesh) => mesh.state === 'open')
    .flatMap((mesh) => mesh.peers.map((peerId) => mesh.connectionTo(peerId)))
    .filter((connection): connection is Connection => connection !== undefined)
}

/** The afterEach of every mesh test: the leak check (test/leaks.ts), then every mesh closes either way. */
export async function closeChecked(meshes: Mesh[]): Promise<void> {
  try {
    await expectNoOpenStreams(connectionsOf(meshes))
  } finally {
    await Promise.allSettled(meshes.map((mesh) => mesh.close()))
  }
}
