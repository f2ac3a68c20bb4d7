/**
 * Clusters over an in-process fake host (no links: a call runs the other node's mailbox handler
 * directly), for what is about lifecycle rather than the network: closing the mesh settles every
 * pending operation, and a service's close settles its work and its tunnels.
 */
import { describe, expect, test } from 'vitest'
import { Clusters } from '../../../src/services/clusters/clusters.js'
import { fakeNetwork } from './fake-network.js'
import { delay, until } from '../../until.js'

describe('lifecycle', () => {
  test('closing the mesh settles a request waiting for a member (MESH_CLOSED) and its own services’ requests (SERVICE_CLOSED)', async () => {
    const network = fakeNetwork(['a', 'b'])
    const a = network.node('a')
    const waiting = a.request('nobody-yet', 1, { timeout: 5_000 })
    await a.serve('slow', { request: () => delay(1_000) })
    const running = a.request('slow', 1, { timeout: 5_000 })
    await delay(5)
    network.close('a')
    await expect(waiting).rejects.toMatchObject({ code: 'MESH_CLOSED' })
    await expect(running).rejects.toMatchObject({ code: 'SERVICE_CLOSED' })
    await expect(a.request('slow', 1)).rejects.toMatchObject({ code: 'MESH_CLOSED' })
  })

  test('a service’s close fails its queued and running requests with SERVICE_CLOSED and closes its tunnels', async () => {
    const network = fakeNetwork(['a', 'b'])
    const [a, b] = [network.node('a'), network.node('b')]
    const service = await b.serve('closing', { request: () => delay(1_000), tunnel: () => {} }, { requestConcurrency: 1 })
    const requests = [a.request('closing', 1), a.request('closing', 2)]
    const tunnel = await a.tunnel('closing')
    const receiving = tunnel.receive()
    await delay(5)
    expect(service.stats()).toMatchObject({ requests: { running: 1, queued: 1 }, tunnels: 1 })
    service.close()
    for (const request of requests) await expect(request).rejects.toMatchObject({ code: 'SERVICE_CLOSED' })
    await expect(receiving).rejects.toMatchObject({ code: 'SERVICE_CLOSED' })
    expect(service.stats().tunnels).toBe(0)
    await until('the leave announced', () => a.directory.membersOf('closing').length === 0)
  })

  test('a new link hears an announcement only from a peer that serves or subscribes to something (forming a room costs no empty calls)', async () => {
    const calls: string[] = []
    const clusters = new Clusters({
      id: () => 'self',
      linkedPeers: () => [],
      register: () => () => {},
      call: async (peerId) => void calls.push(peerId),
      send: async () => {},
      assertOpen: () => {},
      report: () => {},
      callTimeoutMs: 1_000,
    })
    clusters.linkJoined('first')
    await delay(10)
    expect(calls).toEqual([])
    await clusters.serve('echo', { request: (value) => value })
    calls.length = 0
    clusters.linkJoined('second')
    await until('the announcement', () => calls.length > 0)
    expect(calls).toEqual(['second'])
    clusters.close()
  })
})
