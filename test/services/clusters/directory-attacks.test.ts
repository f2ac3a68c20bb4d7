/**
 * Attacks on the directory, performed through the public API (a hostile peer sends to the internal
 * directory mailbox like any mailbox): oversized announcements and a flood of them. Each is refused
 * with ANNOUNCEMENT_REFUSED, which reaches the sender, and the victim holds at most one announcement
 * per peer: memory growth stays under one announcement at the limits plus a slack.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { Mesh } from '../../../src/mesh/mesh.js'
import { DIRECTORY_LIMITS } from '../../../src/services/clusters/limits.js'
import { DIRECTORY_MAILBOX } from '../../../src/services/clusters/protocol.js'
import { delay } from '../../until.js'
import { memoryAfterGc } from '../../mux/memory.js'
import { closeRoom, openRoom, type Room } from './helpers.js'

/** Slack for the heap's own noise between two measurements (GC timing, JIT, stream bookkeeping). */
const SLACK_BYTES = 4 * 1024 * 1024

let room: Room | undefined
let victim: Mesh
let attacker: Mesh
beforeAll(async () => {
  room = await openRoom(2)
  ;[victim, attacker] = room.meshes as [Mesh, Mesh]
})
afterAll(() => closeRoom(room))

const longName = (index: number) => `${index}`.padEnd(DIRECTORY_LIMITS.maxNameLength, 'x')
const REFUSED = ['ANNOUNCEMENT_REFUSED', expect.any(String)]
let seq = 10 * Date.now() // above whatever the attacker's mesh announced itself (numbered from its clock)

describe('directory attacks', () => {
  test('an announcement over the cluster, topic or name bounds is refused with ANNOUNCEMENT_REFUSED and leaves nothing', async () => {
    const tooMany = Array.from({ length: DIRECTORY_LIMITS.maxClustersPerPeer + 1 }, (_, index) => [longName(index), 1])
    await expect(attacker.call(victim.id, DIRECTORY_MAILBOX, [seq++, tooMany, []])).resolves.toEqual(REFUSED)
    const tooManyTopics = Array.from({ length: DIRECTORY_LIMITS.maxTopicsPerPeer + 1 }, (_, index) => longName(index))
    await expect(attacker.call(victim.id, DIRECTORY_MAILBOX, [seq++, [], tooManyTopics])).resolves.toEqual(REFUSED)
    await expect(attacker.call(victim.id, DIRECTORY_MAILBOX, [seq++, [['x'.repeat(10_000), 1]], []])).resolves.toEqual(REFUSED)
    await expect(attacker.call(victim.id, DIRECTORY_MAILBOX, { hostile: true })).resolves.toEqual(REFUSED)
    expect(Object.keys(victim.directory().clusters)).toEqual([])
    await delay((1_000 / DIRECTORY_LIMITS.announcementsPerSecond) * 8) // let the rate allowance refill for the next test
  })

  test('a flood of announcements at the limits: the rate is refused past its burst, and the victim holds one announcement', async () => {
    const clusters = Array.from({ length: DIRECTORY_LIMITS.maxClustersPerPeer }, (_, index) => [longName(index), 1])
    const topics = Array.from({ length: DIRECTORY_LIMITS.maxTopicsPerPeer }, (_, index) => longName(index))
    const before = memoryAfterGc()
    const started = Date.now()
    const results = await Promise.allSettled(Array.from({ length: 500 }, () => attacker.call(victim.id, DIRECTORY_MAILBOX, [seq++, clusters, topics])))
    const elapsedMs = Date.now() - started
    expect(results.every((result) => result.status === 'fulfilled')).toBe(true)
    const refused = results.filter((result) => result.status === 'fulfilled' && Array.isArray(result.value))
    // At most the burst, plus what the rate refilled while the flood lasted, got in.
    const allowed = DIRECTORY_LIMITS.announcementBurst + Math.ceil((elapsedMs * DIRECTORY_LIMITS.announcementsPerSecond) / 1000)
    expect(results.length - refused.length).toBeLessThanOrEqual(allowed)
    expect(refused.length).toBeGreaterThan(0)
    expect(refused.every((result) => result.status === 'fulfilled' && (result.value as unknown[])[0] === 'ANNOUNCEMENT_REFUSED')).toBe(true)
    const growth = memoryAfterGc() - before
    const oneAnnouncement = (DIRECTORY_LIMITS.maxClustersPerPeer + DIRECTORY_LIMITS.maxTopicsPerPeer) * DIRECTORY_LIMITS.maxNameLength * 2
    expect(growth).toBeLessThan(oneAnnouncement + SLACK_BYTES)
    expect(victim.directory().clusters[longName(0)]).toEqual([attacker.id])
    console.info(`directory flood: ${refused.length} of 500 refused, memory growth ${growth} bytes (bound ${oneAnnouncement} + ${SLACK_BYTES} slack)`)
  })
})
