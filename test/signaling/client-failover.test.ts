/**
 * The signaling client with several servers (src/signaling/failover.ts): the first join skips a server
 * that cannot be reached; a joined client whose server shuts down moves to the next at once, keeping
 * its id; a refusal (not a server going away) is not retried elsewhere; every server failing fails the
 * first join with SIGNALING_UNREACHABLE naming them all.
 */
import { createServer } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { Identity } from '../../src/identity/identity.js'
import { MeshscopeError } from '../../src/errors.js'
import { isServerGone, SignalingServers } from '../../src/signaling/failover.js'
import { SignalingClient, type WebSocketConstructor } from '../../src/signaling/client.js'
import { Harness, withTimeout } from './helpers.js'

/** A loopback port nobody listens on. */
async function deadUrl(): Promise<string> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(`ws://127.0.0.1:${port}`))
    })
  })
}

describe('signaling failover', () => {
  let harness = new Harness()
  afterEach(async () => {
    await harness.dispose()
    harness = new Harness()
  })

  const client = (url: string | string[], identity: Identity, room = 'room') =>
    harness.track(new SignalingClient({ url, room, identity, WebSocket: WebSocket as unknown as WebSocketConstructor, joinTimeoutMs: 5_000 }))

  it('SignalingServers moves through the list and reports a full round', () => {
    const servers = new SignalingServers(['ws://a', 'ws://b', 'ws://c'])
    expect(servers.current).toBe('ws://a')
    expect(servers.failed()).toBe(true)
    expect(servers.current).toBe('ws://b')
    servers.welcomed()
    expect(servers.failed()).toBe(true)
    expect(servers.failed()).toBe(true)
    expect(servers.failed()).toBe(false) // each of the three failed since the welcome: back off
    expect(servers.current).toBe('ws://b')
    expect(() => new SignalingServers([])).toThrow(RangeError)
    expect(isServerGone(1001)).toBe(true)
    expect(isServerGone(1006)).toBe(true)
    expect(isServerGone(1013)).toBe(true)
    expect(isServerGone(4003)).toBe(false) // room full: the same everywhere
    expect(isServerGone(1008)).toBe(false)
  })

  it('the first join skips a server that cannot be reached', async () => {
    const { url } = await harness.server()
    const identity = await Identity.generate()
    const welcome = await client([await deadUrl(), url], identity).start()
    expect(welcome.id).toBe(identity.id)
  })

  it('a joined client whose server shuts down moves to the next server with the same id', async () => {
    const first = await harness.server()
    const second = await harness.server()
    const identity = await Identity.generate()
    const signaling = client([first.url, second.url], identity)
    await signaling.start()
    const rejoined = new Promise<string>((resolve) => signaling.events.on('welcome', (welcome) => resolve(welcome.id)))
    await first.server.close()
    expect(await withTimeout(rejoined, 5_000, 'a welcome from the second server')).toBe(identity.id)
    expect(second.server.stats().peers).toBe(1)
    expect(signaling.state).toBe('joined')
  })

  it('a refusal is not retried on another server, and every server unreachable fails the first join naming them', async () => {
    const full = await harness.server({ maxRoomSize: 1 })
    const other = await harness.server()
    await harness.joined(full.url, 'room')
    const refused = client([full.url, other.url], await Identity.generate()).start()
    await expect(refused).rejects.toMatchObject({ code: 'SIGNALING_REFUSED' })
    expect(other.server.stats().sockets).toBe(0)

    const [x, y] = [await deadUrl(), await deadUrl()]
    const error = await client([x, y], await Identity.generate())
      .start()
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MeshscopeError)
    expect((error as MeshscopeError).code).toBe('SIGNALING_UNREACHABLE')
    expect((error as MeshscopeError).message).toContain(x)
    expect((error as MeshscopeError).message).toContain(y)
  })
})
