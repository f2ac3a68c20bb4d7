/**
 * A caller floods a member with requests its handler never finishes: the member holds at most its
 * `requestMemory` of them and refuses the rest at once with SERVICE_OVERLOADED (not left to time
 * out), and memory grows by at most that allowance on each side (both run in this process) plus a slack. Broadcasts past the allowance
 * are dropped and counted.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { Mesh } from '../../../src/mesh/mesh.js'
import { memoryAfterGc } from '../../mux/memory.js'
import { until } from '../../until.js'
import { closeRoom, openRoom, type Room } from './helpers.js'

/** Slack for the heap's noise and the requests' own bookkeeping (streams, contexts, promises). */
const SLACK_BYTES = 8 * 1024 * 1024
const REQUEST_MEMORY = 4 * 1024 * 1024
const REQUEST_BYTES = 256 * 1024

let room: Room | undefined
let member: Mesh
let attacker: Mesh
beforeAll(async () => {
  room = await openRoom(2)
  ;[member, attacker] = room.meshes as [Mesh, Mesh]
})
afterAll(() => closeRoom(room))

describe('request attacks', () => {
  test('a flood of requests to a handler that never finishes: the allowance is held, the rest refused at once', async () => {
    const release: Array<() => void> = []
    const service = await member.serve(
      'flooded',
      { request: () => new Promise<void>((resolve) => release.push(resolve)) },
      { requestConcurrency: 4, requestMemory: REQUEST_MEMORY },
    )
    const before = memoryAfterGc()
    const started = Date.now()
    let refusedSoFar = 0
    const flood = Array.from({ length: 100 }, () =>
      attacker.request('flooded', new Uint8Array(REQUEST_BYTES), { timeout: 20_000 }).catch((error) => {
        refusedSoFar++
        throw error
      }),
    )
    const settled = Promise.allSettled(flood)
    const accepted = REQUEST_MEMORY / REQUEST_BYTES
    await until(
      'the refusals, at the member and at the caller',
      () => service.stats().requests.overMemory === flood.length - accepted && refusedSoFar === flood.length - accepted,
      10_000,
    )
    const refusedWithinMs = Date.now() - started
    expect(service.stats().requests).toMatchObject({ running: 4, queued: accepted - 4, heldBytes: REQUEST_MEMORY })
    // One process holds both sides: the member's accepted requests, and the caller's values of the same requests, still waiting for their replies.
    const growth = memoryAfterGc() - before
    expect(growth).toBeLessThan(2 * REQUEST_MEMORY + SLACK_BYTES)
    for (const resolve of release.splice(0)) resolve()
    await until('the queue drained', () => {
      for (const resolve of release.splice(0)) resolve()
      return service.stats().requests.heldBytes === 0
    })
    const results = await settled
    const refused = results.filter((result) => result.status === 'rejected')
    expect(refused).toHaveLength(flood.length - accepted)
    expect(refused.every((result) => result.status === 'rejected' && result.reason.code === 'SERVICE_OVERLOADED')).toBe(true)
    console.info(
      `request flood: ${refused.length} of ${flood.length} refused within ${refusedWithinMs} ms, memory growth ${growth} bytes, both sides (bound 2 × ${REQUEST_MEMORY} + ${SLACK_BYTES} slack)`,
    )
    service.close()
  })
})
