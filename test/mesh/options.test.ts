/**
 * resolveMeshOptions (src/mesh/options.ts): every default comes from MESH_DEFAULTS, given values are
 * kept, and values out of range are refused with INVALID_ARGUMENT at their limit + 1 (or − 1).
 */
import { describe, expect, it } from 'vitest'
import { Identity } from '../../src/identity/identity.js'
import { MESH_DEFAULTS, resolveMeshOptions, type MeshJoinOptions } from '../../src/mesh/options.js'
import type { Platform } from '../../src/mesh/platform.js'

const platform = { RTCPeerConnection: class {}, WebSocket: class {} } as unknown as Platform
const base: MeshJoinOptions = { signaling: 'ws://127.0.0.1:1', room: 'room', platform }

describe('resolveMeshOptions', () => {
  it('fills in every default, and a fresh identity', async () => {
    const resolved = await resolveMeshOptions(base)
    expect(resolved).toMatchObject({
      topology: 'full',
      gossip: {},
      idleLinkMs: 30_000,
      iceServers: [],
      joinTimeoutMs: 10_000,
      heartbeatIntervalMs: 1_000,
      peerTimeoutMs: 5_000,
      connectTimeoutMs: 15_000,
      callTimeoutMs: 30_000,
      highWaterMarkBytes: 256 * 1024,
      exposeErrorStacks: false,
    })
    expect(resolved).toMatchObject(MESH_DEFAULTS)
    expect(resolved.identity).toBeInstanceOf(Identity)
    expect(resolved.platform).toEqual(platform)
  })

  it('keeps what was given', async () => {
    const identity = await Identity.generate()
    const resolved = await resolveMeshOptions({
      ...base,
      identity,
      topology: 'scamp',
      idleLinkMs: 0,
      highWaterMarkBytes: 1,
      peerTimeoutMs: 2,
      heartbeatIntervalMs: 1,
      callTimeoutMs: 1,
    })
    expect(resolved).toMatchObject({
      identity,
      topology: 'scamp',
      idleLinkMs: 0,
      highWaterMarkBytes: 1,
      peerTimeoutMs: 2,
      heartbeatIntervalMs: 1,
      callTimeoutMs: 1,
    })
  })

  it('takes callTimeoutMs: Infinity (no default timeout) when said explicitly', async () => {
    expect((await resolveMeshOptions({ ...base, callTimeoutMs: Number.POSITIVE_INFINITY })).callTimeoutMs).toBe(Number.POSITIVE_INFINITY)
  })

  it.each<[string, Partial<MeshJoinOptions>]>([
    ['a signaling URL that is not ws(s)', { signaling: 'http://127.0.0.1:1' }],
    ['a room name too long', { room: 'r'.repeat(65) }],
    ['an unknown topology', { topology: 'ring' as never }],
    ['a negative idleLinkMs', { idleLinkMs: -1 }],
    ['a highWaterMarkBytes of 0', { highWaterMarkBytes: 0 }],
    ['a timing of 0', { connectTimeoutMs: 0 }],
    ['a callTimeoutMs of 0', { callTimeoutMs: 0 }],
    ['a callTimeoutMs that is not a number', { callTimeoutMs: Number.NaN }],
    ['peerTimeoutMs not above heartbeatIntervalMs', { peerTimeoutMs: 1_000, heartbeatIntervalMs: 1_000 }],
    ['a mux limit of 0', { limits: { mux: { maxStreams: 0 } } }],
    ['a mux inbound budget below its window', { limits: { mux: { maxInboundBytes: 1024 } } }],
    ['a codec depth past its ceiling', { limits: { codec: { maxDepth: 1_001 } } }],
    ['a channel limit of 0', { limits: { channels: { maxReceivedCapacity: 0 } } }],
    ['a request read timeout of 0', { limits: { serve: { requestReadTimeoutMs: 0 } } }],
    ['a maxRequestsInFlight of 0', { maxRequestsInFlight: 0 }],
    ['a maxRequestsInFlight that is not an integer', { maxRequestsInFlight: 1.5 }],
    ['a maxLinks of 0', { maxLinks: 0 }],
    ['a mesh-wide maxInboundBytes below one window', { maxInboundBytes: 1024 }],
    ['a hopPolicy that is not a function', { hopPolicy: 'everyone' as never }],
  ])('refuses %s with INVALID_ARGUMENT', async (_, options) => {
    await expect(resolveMeshOptions({ ...base, ...options })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })
})
