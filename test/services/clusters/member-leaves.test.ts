/** A member whose mesh closes under load: every request succeeds or fails with a code (none hangs, none runs twice); later ones go to the survivor. */
import { afterAll, beforeAll, expect, test } from 'vitest'
import type { Mesh } from '../../../src/mesh/mesh.js'
import { delay, until } from '../../until.js'
import { closeRoom, openRoom, type Room } from './helpers.js'

let room: Room | undefined
beforeAll(async () => {
  room = await openRoom(3)
})
afterAll(() => closeRoom(room))

test('a member that goes away fails its in-flight requests with SERVICE_CLOSED; the others take the later ones', async () => {
  const [caller, leaving, staying] = room!.meshes as [Mesh, Mesh, Mesh]
  const runs = new Map<number, number>()
  const handler = {
    request: async (value: number) => {
      runs.set(value, (runs.get(value) ?? 0) + 1)
      await delay(200) // long enough that the leaver surely holds requests when it closes
      return value
    },
  }
  await leaving.serve('survivors', handler, { requestConcurrency: 64 })
  await staying.serve('survivors', handler, { requestConcurrency: 64 })
  const settled = Promise.allSettled(Array.from({ length: 40 }, (_, index) => caller.request('survivors', index, { timeout: 5_000 })))
  await delay(5)
  await leaving.close()
  const results = await settled
  for (const result of results) {
    if (result.status === 'rejected') expect(result.reason.code).toBe('SERVICE_CLOSED')
  }
  expect(results.some((result) => result.status === 'rejected')).toBe(true)
  expect([...runs.values()].every((count) => count === 1)).toBe(true)
  await until('the leaver gone from the directory', () => caller.directory().clusters.survivors?.length === 1)
  await expect(caller.request('survivors', 100, { timeout: 2_000 })).resolves.toBe(100)
})
