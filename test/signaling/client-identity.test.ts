/**
 * The SignalingClient opens its socket while the identity is still being generated (Mesh.join
 * passes the generation's promise): the hello waits for the key, the socket does not.
 */
import { WebSocket } from 'ws'
import { afterEach, describe, expect, it } from 'vitest'
import { MeshscopeError } from '../../src/errors.js'
import { Identity } from '../../src/identity/identity.js'
import { SignalingClient, type WebSocketConstructor } from '../../src/signaling/client.js'
import { until } from '../until.js'
import { Harness } from './helpers.js'

const NodeWebSocket = WebSocket as unknown as WebSocketConstructor
const harness = new Harness()
afterEach(() => harness.dispose())

const newClient = (url: string, identity: Identity | Promise<Identity>) =>
  harness.track(new SignalingClient({ url, room: 'lobby', identity, WebSocket: NodeWebSocket, joinTimeoutMs: 3_000 }))

describe('SignalingClient with an identity still being generated', () => {
  it('connects at once, says hello once the identity is there, and is welcomed under its id', async () => {
    const { server, url } = await harness.server()
    let resolveIdentity!: (identity: Identity) => void
    const client = newClient(url, new Promise<Identity>((resolve) => (resolveIdentity = resolve)))
    const welcomed = client.start()
    // The server holds a socket that owes its hello: the client connected before it had a key.
    await until('the socket is connected', () => server.stats().pendingHellos === 1)
    expect(server.stats().peers).toBe(0)
    const identity = await Identity.generate()
    resolveIdentity(identity)
    expect((await welcomed).id).toBe(identity.id)
    expect(client.state).toBe('joined')
    expect(server.stats()).toMatchObject({ peers: 1, pendingHellos: 0 })
  })

  it('fails the join with SIGNALING_REFUSED when the identity cannot be made, and closes', async () => {
    const { server, url } = await harness.server()
    const client = newClient(url, Promise.reject(new Error('no key for you')))
    const error: unknown = await client.start().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(MeshscopeError)
    expect(error).toMatchObject({ code: 'SIGNALING_REFUSED' })
    expect(client.state).toBe('closed')
    await until('the server dropped the socket', () => server.stats().sockets === 0)
    expect(server.stats().peers).toBe(0)
  })
})
