/** Broadcasts to a cluster and events on topics over real meshes, as Iris's tests do them. */
import { QUEUED_DELIVERY_BYTES } from '../../../src/services/clusters/service.js'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { Mesh } from '../../../src/mesh/mesh.js'
import { until } from '../../until.js'
import { closeRoom, openRoom, type Room } from './helpers.js'

let room: Room | undefined
let meshes: Mesh[]
beforeAll(async () => {
  room = await openRoom(4)
  meshes = room.meshes
})
afterAll(() => closeRoom(room))

describe('mesh.broadcast', () => {
  test('a broadcast from every member and from a non-member reaches every member once, its own sender included', async () => {
    const members = meshes.slice(0, 3)
    const received = new Map<string, string[]>(members.map((mesh) => [mesh.id, []]))
    const services = await Promise.all(members.map((mesh) => mesh.serve('bcast', { broadcast: (value: string) => void received.get(mesh.id)!.push(value) })))
    await Promise.all(meshes.map((mesh) => mesh.broadcast('bcast', mesh.id)))
    const everyone = meshes.map((mesh) => mesh.id).sort()
    await until('every broadcast delivered', () => [...received.values()].every((values) => values.length === meshes.length))
    for (const values of received.values()) expect([...values].sort()).toEqual(everyone)
    for (const service of services) service.close()
  })

  test('a broadcast over a member’s requestMemory is dropped there and counted', async () => {
    const [a, b] = meshes as [Mesh, Mesh]
    let delivered = 0
    // A queued broadcast costs its payload and QUEUED_DELIVERY_BYTES (nobody waits for it: that charge bounds how many queue).
    const service = await b.serve('small-broadcasts', { broadcast: () => void delivered++ }, { requestMemory: QUEUED_DELIVERY_BYTES + 1 })
    await a.broadcast('small-broadcasts', new Uint8Array(2))
    await a.broadcast('small-broadcasts', new Uint8Array(1))
    await until('the small one delivered', () => delivered === 1)
    expect(service.stats().broadcasts).toMatchObject({ overMemory: 1, completed: 1 })
    service.close()
  })
})

describe('publish / subscribe', () => {
  test('publishing on several topics reaches every subscriber of each, the publisher too if subscribed', async () => {
    const topics = ['alpha', 'beta', 'gamma']
    const received = new Map<string, string[]>()
    const subscribe = (mesh: Mesh, topic: string) => {
      const values: string[] = []
      received.set(`${topic} at ${mesh.id}`, values)
      return mesh.subscribe(topic, (value: string) => void values.push(value))
    }
    // Each peer subscribes to every other topic, so every topic has subscribers that publish and some that do not.
    const subscriptions = await Promise.all(
      meshes.flatMap((mesh, index) => topics.filter((_, topic) => (index + topic) % 2 === 0).map((topic) => subscribe(mesh, topic))),
    )
    for (const mesh of meshes) for (const topic of topics) await mesh.publish(topic, `${topic} from ${mesh.id}`)
    const total = () => [...received.values()].reduce((sum, values) => sum + values.length, 0)
    await until('every event delivered', () => total() === subscriptions.length * meshes.length)
    for (const [key, values] of received) {
      const topic = key.split(' ')[0]!
      expect([...values].sort()).toEqual(meshes.map((mesh) => `${topic} from ${mesh.id}`).sort())
    }
    for (const subscription of subscriptions) subscription.close()
  })

  test('subscribing twice fails with ALREADY_SUBSCRIBED, an unknown unsubscribe with NOT_SUBSCRIBED', async () => {
    const [a, b] = meshes as [Mesh, Mesh]
    const subscription = await a.subscribe('twice', () => {})
    await expect(a.subscribe('twice', () => {})).rejects.toMatchObject({ code: 'ALREADY_SUBSCRIBED' })
    await expect(a.unsubscribe('never')).rejects.toMatchObject({ code: 'NOT_SUBSCRIBED' })
    expect(b.directory().topics.twice).toEqual([a.id])
    await a.unsubscribe('twice')
    expect(subscription.closed).toBe(true)
    await until('the unsubscription announced', () => b.directory().topics.twice === undefined)
    await expect(a.unsubscribe('twice')).rejects.toMatchObject({ code: 'NOT_SUBSCRIBED' })
    await expect(a.subscribe('', () => {})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })
})
