/**
 * Requests to a cluster over real meshes, with the numbers of Iris's own tests: many clients × many
 * members × echo requests; failing handlers; timeouts; concurrency and memory limits; expired
 * requests dropped; balancing by spare capacity; a member that leaves.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { Mesh } from '../../../src/mesh/mesh.js'
import { RemoteError } from '../../../src/rpc/errors.js'
import { delay } from '../../until.js'
import { closeRoom, openRoom, type Room } from './helpers.js'

let room: Room | undefined
let meshes: Mesh[]
beforeAll(async () => {
  room = await openRoom(3)
  meshes = room.meshes
})
afterAll(() => closeRoom(room))

describe('mesh.request', () => {
  test('many clients × many members × echo requests: every reply equals its request, the local member counting like any other', async () => {
    const served = new Map<string, number>()
    const services = await Promise.all(
      meshes.map((mesh) =>
        mesh.serve('echo', {
          request: (value) => {
            served.set(mesh.id, (served.get(mesh.id) ?? 0) + 1)
            return value
          },
        }),
      ),
    )
    const requests = meshes.flatMap((mesh, client) => Array.from({ length: 100 }, (_, index) => ({ mesh, value: `${client}:${index}` })))
    const replies = await Promise.all(requests.map(({ mesh, value }) => mesh.request('echo', value, { timeout: 5_000 })))
    expect(replies).toEqual(requests.map(({ value }) => value))
    expect([...served.values()].reduce((sum, count) => sum + count, 0)).toBe(300)
    for (const mesh of meshes) expect(served.get(mesh.id)).toBeGreaterThan(0)
    for (const service of services) service.close()
  })

  test('a failing handler reaches the caller as a RemoteError with the identical message, from a peer and from itself', async () => {
    const [a, b] = meshes as [Mesh, Mesh]
    const remote = await b.serve('failing-remote', { request: () => Promise.reject(new Error('failed: 42')) })
    const local = await a.serve('failing-local', { request: () => Promise.reject(new Error('failed: 43')) })
    const remotely = await a.request('failing-remote', 42).catch((error) => error)
    expect(remotely).toBeInstanceOf(RemoteError)
    expect(remotely).toMatchObject({ code: 'REMOTE_ERROR', message: 'failed: 42', peerId: b.id })
    const locally = await a.request('failing-local', 43).catch((error) => error)
    expect(locally).toBeInstanceOf(RemoteError)
    expect(locally).toMatchObject({ code: 'REMOTE_ERROR', message: 'failed: 43', peerId: a.id })
    remote.close()
    local.close()
  })

  test('a handler sleeping 25 ms succeeds within 50 ms and times out at 12.5 ms', async () => {
    const [a, b] = meshes as [Mesh, Mesh]
    const service = await b.serve('sleepy', { request: (value) => delay(25).then(() => value) })
    await expect(a.request('sleepy', 'slow', { timeout: 50 })).resolves.toBe('slow')
    await expect(a.request('sleepy', 'slow', { timeout: 12.5 })).rejects.toMatchObject({ code: 'TIMEOUT' })
    service.close()
  })

  test('with requestConcurrency 1, four 25 ms requests: about 62 ms later exactly two are done', async () => {
    const [a, b] = meshes as [Mesh, Mesh]
    const service = await b.serve('single', { request: () => delay(25) }, { requestConcurrency: 1 })
    let done = 0
    const requests = [0, 1, 2, 3].map(() => a.request('single', null, { timeout: 1_000 }).then(() => done++))
    await delay(62)
    expect(done).toBe(2)
    await Promise.all(requests)
    expect(service.stats().requests).toMatchObject({ completed: 4, running: 0, queued: 0 })
    service.close()
  })

  test('with requestMemory 1: a 1-byte request passes, a 2-byte one is refused at once, a 1-byte one passes again', async () => {
    const [a, b] = meshes as [Mesh, Mesh]
    const service = await b.serve('tiny', { request: (value: Uint8Array) => value.byteLength }, { requestMemory: 1 })
    await expect(a.request('tiny', new Uint8Array(1))).resolves.toBe(1)
    const started = Date.now()
    await expect(a.request('tiny', new Uint8Array(2), { timeout: 5_000 })).rejects.toMatchObject({ code: 'SERVICE_OVERLOADED' })
    expect(Date.now() - started).toBeLessThan(1_000) // refused, not left to time out
    await expect(a.request('tiny', new Uint8Array(1))).resolves.toBe(1)
    expect(service.stats().requests.overMemory).toBe(1)
    service.close()
  })

  test('four requests with a 1 ms deadline on a concurrency-1 service: exactly one runs', async () => {
    const [a] = meshes as [Mesh]
    let runs = 0
    const service = await a.serve(
      'deadline',
      {
        request: () => {
          runs++
          return delay(10)
        },
      },
      { requestConcurrency: 1 },
    )
    const results = await Promise.allSettled([0, 1, 2, 3].map(() => a.request('deadline', null, { timeout: 1 })))
    await delay(50)
    expect(runs).toBe(1)
    expect(results.every((result) => result.status === 'rejected' && result.reason.code === 'TIMEOUT')).toBe(true)
    service.close()
  })

  test('balances by reported spare capacity: a member with 8 free slots takes most of 9 requests, one with 1 slot the rest', async () => {
    const [a, b, c] = meshes as [Mesh, Mesh, Mesh]
    const taken = { [b.id]: 0, [c.id]: 0 }
    const narrow = await b.serve(
      'balanced',
      {
        request: () => {
          taken[b.id]!++
          return delay(30)
        },
      },
      { requestConcurrency: 1 },
    )
    const wide = await c.serve(
      'balanced',
      {
        request: () => {
          taken[c.id]!++
          return delay(30)
        },
      },
      { requestConcurrency: 8 },
    )
    await Promise.all(Array.from({ length: 9 }, () => a.request('balanced', null, { timeout: 2_000 })))
    expect(taken[c.id]).toBeGreaterThanOrEqual(7)
    narrow.close()
    wide.close()
  })

  test('no member within the timeout fails with NO_MEMBER; a member that joins meanwhile gets the request', async () => {
    const [a, b] = meshes as [Mesh, Mesh]
    await expect(a.request('nobody', 1, { timeout: 30 })).rejects.toMatchObject({ code: 'NO_MEMBER' })
    const waiting = a.request('latecomer', 'hello', { timeout: 2_000 })
    await delay(20)
    const service = await b.serve('latecomer', { request: (value) => value })
    await expect(waiting).resolves.toBe('hello')
    service.close()
  })

  test('refuses an empty name or a timeout under 1 ms at the call', async () => {
    const [a] = meshes as [Mesh]
    await expect(a.request('', 1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(a.request('x', 1, { timeout: 0.5 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(a.serve('', {})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })

  test('a member that leaves fails its in-flight requests with SERVICE_CLOSED; later ones go to the others', async () => {
    const [a, b, c] = meshes as [Mesh, Mesh, Mesh]
    const leaving = await b.serve('leaving', { request: () => delay(1_000) })
    const inFlight = a.request('leaving', null, { timeout: 2_000 })
    await delay(30)
    leaving.close()
    await expect(inFlight).rejects.toMatchObject({ code: 'SERVICE_CLOSED' })
    const staying = await c.serve('leaving', { request: () => 'from c' })
    await expect(a.request('leaving', null, { timeout: 2_000 })).resolves.toBe('from c')
    staying.close()
  })
})
