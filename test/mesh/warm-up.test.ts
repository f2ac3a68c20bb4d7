/**
 * The spare connection (src/mesh/warm-up.ts): a joining peer makes one RTCPeerConnection while it
 * waits for the welcome, and its first link takes it over — no connection is made only to be closed.
 */
import wrtc from '@roamhq/wrtc'
import { WebSocket } from 'ws'
import { afterEach, describe, expect, it } from 'vitest'
import type { Mesh } from '../../src/mesh/mesh.js'
import type { Platform } from '../../src/mesh/platform.js'
import type { SignalingServer } from '../../signaling/index.js'
import { closeChecked, fullMesh, joinMesh, startServer, until } from './helpers.js'

/** wrtc's RTCPeerConnection, recording every connection made and closed. */
function countingPlatform() {
  const made: RTCPeerConnection[] = []
  const closed = new Set<RTCPeerConnection>()
  const Base = wrtc.RTCPeerConnection as unknown as new (configuration?: RTCConfiguration) => RTCPeerConnection
  class Counting extends Base {
    constructor(configuration?: RTCConfiguration) {
      super(configuration)
      made.push(this)
    }
    override close(): void {
      closed.add(this)
      super.close()
    }
  }
  return { platform: { RTCPeerConnection: Counting, WebSocket } as unknown as Platform, made, closed }
}

describe('the spare connection made while joining', () => {
  const meshes: Mesh[] = []
  let server: SignalingServer | undefined

  afterEach(async () => {
    await closeChecked(meshes.splice(0))
    await server?.close()
  })

  it('becomes the first link: two peers make one connection each, and close none while linked', async () => {
    server = await startServer()
    const { platform, made, closed } = countingPlatform()
    const { url } = server.address()
    const pair = await Promise.all([joinMesh(url, 'spare', { platform }), joinMesh(url, 'spare', { platform })])
    meshes.push(...pair)
    await fullMesh(pair)
    expect(made).toHaveLength(2)
    expect(closed.size).toBe(0)
    // The link works: a message crosses it.
    const received = new Promise((resolve) => pair[1]!.register('hi', (value) => resolve(value)))
    await pair[0]!.send(pair[1]!.id, 'hi', 'there')
    expect(await received).toBe('there')
  })

  it('is closed with the mesh when no link took it', async () => {
    server = await startServer()
    const { platform, made, closed } = countingPlatform()
    const alone = await joinMesh(server.address().url, 'alone', { platform })
    expect(made).toHaveLength(1)
    await alone.close()
    await until('the spare closed', () => closed.has(made[0]!))
  })
})
