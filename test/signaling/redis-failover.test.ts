/**
 * Meshes on signaling server instances that share rooms through one real redis-server, with real
 * WebRTC links (wrtc): peers on different instances form one full mesh and one scamp mesh; an instance
 * killed hard (SIGKILL of a `meshscope signal --redis` process, built package: npm test builds first)
 * makes its peers leave for the others within the documented bound (4/3 of the presence TTL), while a
 * mesh that lists several servers fails over to a live one with the same id, and its links stay up and
 * carry data throughout.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Identity } from '../../src/identity/identity.js'
import type { Mesh } from '../../src/mesh/mesh.js'
import type { SignalingServer } from '../../signaling/index.js'
import { closeChecked, fullMesh, joinMesh, startServer, until } from '../mesh/helpers.js'
import { RawClient, withTimeout } from './helpers.js'
import { REDIS_MISSING, type RedisProcess, startRedis } from './redis-server.js'

const bin = fileURLToPath(new URL('../../bin/meshscope.js', import.meta.url))
/** Short, so the test does not wait 20 s; the default is 15 000. */
const PRESENCE_TTL_MS = 1_500
const LEAVE_BOUND_MS = PRESENCE_TTL_MS + Math.floor(PRESENCE_TTL_MS / 3)

/** A `meshscope signal --redis` process, to be killed hard. */
async function startInstanceProcess(redisUrl: string, prefix: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [bin, 'signal', '--port', '0', '--redis', redisUrl, '--redis-prefix', prefix, '--presence-ttl-ms', String(PRESENCE_TTL_MS)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  const url = await withTimeout(
    new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString()
        const match = /listening on (ws:\/\/\S+)/.exec(output)
        if (match) resolve(match[1]!)
      }
      child.stdout!.on('data', onData)
      child.stderr!.on('data', onData)
      child.once('exit', (code) => reject(new Error(`meshscope signal exited ${code}: ${output}`)))
    }),
    10_000,
    'meshscope signal --redis to listen',
  )
  return { child, url }
}

describe.skipIf(REDIS_MISSING !== undefined)('meshes across signaling instances sharing rooms through Redis', () => {
  let redis: RedisProcess
  let prefixCount = 0
  const meshes: Mesh[] = []
  const servers: SignalingServer[] = []
  const children: ChildProcess[] = []
  const raws: RawClient[] = []
  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis?.stop()
  })
  afterEach(async () => {
    for (const raw of raws.splice(0)) raw.close()
    await closeChecked(meshes.splice(0))
    await Promise.all(servers.splice(0).map((server) => server.close()))
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })

  async function inProcessInstance(prefix: string): Promise<SignalingServer> {
    const server = await startServer({ redis: { url: redis.url, keyPrefix: prefix, presenceTtlMs: PRESENCE_TTL_MS } })
    servers.push(server)
    return server
  }

  async function join(signaling: string | string[], room: string, topology?: 'scamp'): Promise<Mesh> {
    const mesh = await joinMesh(signaling as string, room, topology ? { topology } : {})
    meshes.push(mesh)
    mesh.register('echo', (value: unknown) => value)
    return mesh
  }

  it('peers on three instances form one full mesh and call each other', async () => {
    const prefix = `mesh${++prefixCount}:`
    const [a, b, c] = await Promise.all([inProcessInstance(prefix), inProcessInstance(prefix), inProcessInstance(prefix)])
    const group = [await join(a.address().url, 'trio'), await join(b.address().url, 'trio'), await join(c.address().url, 'trio')]
    await fullMesh(group)
    for (const mesh of group) for (const peer of mesh.peers) expect(await mesh.call(peer, 'echo', `${mesh.id}→${peer}`)).toBe(`${mesh.id}→${peer}`)
  })

  it('peers on two instances form a scamp mesh', async () => {
    const prefix = `mesh${++prefixCount}:`
    const [a, b] = await Promise.all([inProcessInstance(prefix), inProcessInstance(prefix)])
    const group: Mesh[] = []
    for (let i = 0; i < 4; i++) group.push(await join([a, b][i % 2]!.address().url, 'swarm', 'scamp'))
    await until('every scamp peer linked', () => group.every((mesh) => mesh.peers.length >= 1))
    // Links across instances: at least one link joins a peer of A with a peer of B.
    const onA = new Set([group[0]!.id, group[2]!.id])
    expect(group.some((mesh) => onA.has(mesh.id) && mesh.peers.some((peer) => !onA.has(peer)))).toBe(true)
    for (const mesh of group) expect(await mesh.call(mesh.peers[0]!, 'echo', 'hi')).toBe('hi')
  })

  it('a killed instance: its peers leave within the bound, a mesh listing two servers fails over with its id and links', async () => {
    const prefix = `mesh${++prefixCount}:`
    const doomed = await startInstanceProcess(redis.url, prefix)
    children.push(doomed.child)
    const live = await inProcessInstance(prefix)
    const liveUrl = live.address().url

    // A raw peer on the doomed instance (it never reconnects) and an observer on the live one.
    const stranded = await RawClient.connect(doomed.url)
    raws.push(stranded)
    const strandedId = await Identity.generate()
    await stranded.join(strandedId, 'failover')
    const observer = await RawClient.connect(liveUrl)
    raws.push(observer)
    const observerId = await Identity.generate()
    const welcome = await observer.join(observerId, 'failover')
    expect(welcome.peers.map((peer) => peer.id)).toContain(strandedId.id)

    // Two meshes: one held by the doomed instance (with the live one as its second server), one by the live one.
    const mover = await join([doomed.url, liveUrl], 'failover')
    const stayer = await join(liveUrl, 'failover')
    await fullMesh([mover, stayer])
    const link = mover.connectionTo(stayer.id)
    expect(link).toBeDefined()
    const moverId = mover.id
    const since = observer.messages.length

    const killedAt = performance.now()
    doomed.child.kill('SIGKILL')
    // The stranded peer's presence lapses: the observer hears it left, within the bound.
    const left = await observer.waitFor((message) => message.type === 'peer-left' && message.id === strandedId.id, {
      since,
      timeoutMs: LEAVE_BOUND_MS + 2_000,
      what: `peer-left of the stranded peer within ${LEAVE_BOUND_MS} ms`,
    })
    expect(left.type).toBe('peer-left')
    const leftAfterMs = performance.now() - killedAt
    console.log(`[redis failover] a killed instance's peer left after ${leftAfterMs.toFixed(0)} ms (bound ${LEAVE_BOUND_MS} ms)`)

    // The mover fails over to the live instance with the same id; its link to the stayer never dropped.
    await until('the mover to rejoin through the live instance', () => mover.signalingState === 'joined' && live.stats().peers === 3)
    expect(mover.id).toBe(moverId)
    expect(mover.connectionTo(stayer.id)).toBe(link)
    expect(await mover.call(stayer.id, 'echo', 'after the kill')).toBe('after the kill')
    expect(await stayer.call(mover.id, 'echo', 'back')).toBe('back')
    // The room never heard the mover leave: it moved before its presence lapsed.
    expect(observer.messages.slice(since).some((message) => message.type === 'peer-left' && message.id === moverId)).toBe(false)

    // A newcomer links with the mover: signals reach it through the live instance now.
    const newcomer = await join(liveUrl, 'failover')
    await fullMesh([mover, stayer, newcomer])
    expect(await newcomer.call(mover.id, 'echo', 'hello mover')).toBe('hello mover')
  })
})
