/** A room of real meshes over wrtc links, shared by the tests of one file (each test uses cluster names of its own). */
import type { Mesh } from '../../../src/mesh/mesh.js'
import type { SignalingServer } from '../../../signaling/index.js'
import { closeChecked, fullMesh, joinMesh, startServer } from '../../mesh/helpers.js'

export interface Room {
  server: SignalingServer
  meshes: Mesh[]
}

let rooms = 0

/** `count` meshes in one full-mesh room, all linked. */
export async function openRoom(count: number): Promise<Room> {
  const server = await startServer()
  const room = `clusters-${process.pid}-${rooms++}`
  const meshes = await Promise.all(Array.from({ length: count }, () => joinMesh(server.address().url, room)))
  await fullMesh(meshes)
  return { server, meshes }
}

export async function closeRoom(room: Room | undefined): Promise<void> {
  if (!room) return
  try {
    await closeChecked(room.meshes)
  } finally {
    await room.server.close()
  }
}
