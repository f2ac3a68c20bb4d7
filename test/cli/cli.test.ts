/**
 * The `meshscope` command from the built package (npm test builds first): the signal server starts and
 * stops on signals; a Node peer joins, and on SIGINT/SIGTERM says goodbye, closes its connections and
 * exits 0 (wrtc crashes at teardown if connections are left open).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { Identity } from '../../src/identity/identity.js'
import { SignalingClient, type WebSocketConstructor } from '../../src/signaling/client.js'
import type { Mesh } from '../../src/mesh/mesh.js'
import { ListSubscription } from '../../src/objects/collections/list.js'
import { transformHops } from '../../src/plugin/transform.js'
import { defineHop, hop } from '../../src/scope/index.js'
import type { SignalingServer } from '../../signaling/index.js'
import { joinMesh, startServer, until } from '../mesh/helpers.js'

const bin = fileURLToPath(new URL('../../bin/meshscope.js', import.meta.url))

interface Run {
  child: ChildProcess
  output: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

function run(args: string[]): Run {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  return { child, output: () => output, exited }
}

describe('meshscope CLI', () => {
  const children: ChildProcess[] = []
  const meshes: Mesh[] = []
  let server: SignalingServer | undefined

  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await Promise.all(meshes.splice(0).map((mesh) => mesh.close()))
    await server?.close()
    server = undefined
  })

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`a Node peer joins the mesh, and on ${signal} says goodbye and exits 0`, async () => {
      server = await startServer()
      const { url } = server.address()
      const mesh = await joinMesh(url, 'cli')
      meshes.push(mesh)
      mesh.register('demo.links', () => {})
      const leaves: string[] = []
      mesh.on('peer:leave', (_, reason) => leaves.push(reason))

      const peer = run(['peer', '--signaling', url, '--room', 'cli'])
      children.push(peer.child)
      await until('the CLI peer to connect', () => mesh.peers.length === 1, 15_000)
      const peerId = mesh.peers[0]!
      await until('the CLI peer to log the join', () => peer.output().includes(`peer-joined ${mesh.id}`))
      expect(peer.output()).toContain(`joined room=cli id=${peerId}`)

      const replies: unknown[] = []
      mesh.register('demo.chat', (value) => void replies.push(value))
      await mesh.send(peerId, 'demo.chat', { text: 'hi node' })
      await until('the chat reply', () => replies.length === 1)
      expect(replies[0]).toMatchObject({ echo: false, text: expect.stringContaining('heard: hi node') })

      peer.child.kill(signal)
      expect(await peer.exited).toEqual({ code: 0, signal: null })
      expect(peer.output()).toContain(`${signal}: leaving`)
      expect(peer.output()).toContain('closed')
      await until('the leave', () => leaves.length === 1)
      expect(leaves).toEqual(['goodbye'])
    })
  }

  it('the signal command listens, and exits 0 on SIGTERM', async () => {
    const signal = run(['signal', '--port', '0', '--host', '127.0.0.1'])
    children.push(signal.child)
    await until('listening', () => signal.output().includes('listening on ws://127.0.0.1:'), 10_000)
    signal.child.kill('SIGTERM')
    expect(await signal.exited).toEqual({ code: 0, signal: null })
  })

  it('signal --allowed-origin refuses a page from another origin at the upgrade (403), lets the named one in', async () => {
    const signal = run(['signal', '--port', '0', '--host', '127.0.0.1', '--allowed-origin', 'https://app.example', '--room-topology', 'full'])
    children.push(signal.child)
    await until('listening', () => signal.output().includes('listening on ws://127.0.0.1:'), 10_000)
    const url = /listening on (ws:\/\/\S+)/.exec(signal.output())![1]!
    const statusFor = (origin: string) =>
      new Promise<number>((resolve) => {
        const socket = new WebSocket(url, { origin })
        socket.on('open', () => {
          socket.close()
          resolve(101)
        })
        socket.on('unexpected-response', (_, response) => resolve(response.statusCode ?? 0))
        socket.on('error', () => {})
      })
    expect(await statusFor('https://evil.example')).toBe(403)
    expect(await statusFor('https://app.example')).toBe(101)
    signal.child.kill('SIGTERM')
    expect(await signal.exited).toEqual({ code: 0, signal: null })
    const badTopology = run(['signal', '--room-topology', 'ring'])
    expect((await badTopology.exited).code).toBe(2)
    expect(badTopology.output()).toContain('--room-topology must be full or scamp')
  })

  it('signal --jwt-secret lets a valid token join and refuses a hello without one (4006)', async () => {
    const secret = 'a cli test secret long enough for HS256'
    // A shared attestation key, as several instances serving the same rooms would be given.
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
    const keyFile = join(mkdtempSync(join(tmpdir(), 'meshscope-cli-')), 'attestation.jwk')
    writeFileSync(keyFile, JSON.stringify(await exportJWK(privateKey)))
    const signal = run(['signal', '--port', '0', '--host', '127.0.0.1', '--jwt-secret', secret, '--jwt-issuer', 'cli-test', '--attestation-key', keyFile])
    children.push(signal.child)
    await until('listening', () => signal.output().includes('listening on ws://127.0.0.1:'), 10_000)
    const url = /listening on (ws:\/\/\S+)/.exec(signal.output())![1]!
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('cli')
      .setIssuer('cli-test')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(secret))
    const WS = WebSocket as unknown as WebSocketConstructor
    const joined = new SignalingClient({ url, room: 'cli-auth', identity: await Identity.generate(), WebSocket: WS, token })
    const welcome = await joined.start()
    joined.close()
    const expected = await exportJWK(publicKey)
    expect(welcome.serverKey).toMatchObject({ kty: 'EC', crv: 'P-256', x: expected.x, y: expected.y })
    const refused = new SignalingClient({ url, room: 'cli-auth', identity: await Identity.generate(), WebSocket: WS })
    await expect(refused.start()).rejects.toMatchObject({ code: 'SIGNALING_REFUSED', cause: { code: 'TOKEN_REQUIRED' } })
    signal.child.kill('SIGTERM')
    expect(await signal.exited).toEqual({ code: 0, signal: null })
    const twoSources = run(['signal', '--jwt-secret', secret, '--jwt-jwks', 'http://127.0.0.1:1/jwks'])
    expect((await twoSources.exited).code).toBe(2)
    expect(twoSources.output()).toContain('give one of --jwt-secret, --jwt-jwks and --jwt-public-key')
  })

  it('refuses unknown commands and bad options with exit code 2 and the usage', async () => {
    const unknown = run(['fly'])
    expect((await unknown.exited).code).toBe(2)
    expect(unknown.output()).toContain('unknown command "fly"')
    expect(unknown.output()).toContain('usage:')
    const badPort = run(['signal', '--port', 'eighty'])
    expect((await badPort.exited).code).toBe(2)
    expect(badPort.output()).toContain('--port must be 0..65535')
  })

  it('peer --require loads a TypeScript module through the loader and serves its inline hops', async () => {
    const module = fileURLToPath(new URL('../plugin/fixtures/served.ts', import.meta.url))
    // The id the peer's loader derives from the same source; this side only needs a block with that id to send.
    const [id] = transformHops(readFileSync(module, 'utf8'), module)!.ids
    expect(id).toMatch(/^test\/plugin\/fixtures\/served\.ts:5:40#[0-9a-f]{16}$/)
    const served = defineHop<{ n: number }, unknown>(id!, () => {
      throw new Error('runs on the CLI peer, not here')
    })
    server = await startServer()
    const { url } = server.address()
    const mesh = await joinMesh(url, 'cli-require')
    meshes.push(mesh)
    const peer = run(['peer', '--signaling', url, '--room', 'cli-require', '--require', module])
    children.push(peer.child)
    await until('the CLI peer to connect', () => mesh.peers.length === 1, 15_000)
    expect(peer.output()).toContain(`meshscope-peer loaded ${module}`)
    const peerId = mesh.peers[0]!
    expect(await hop(mesh.peer(peerId), { n: 21 }, served)).toEqual({ doubled: 42, ranOn: peerId, caller: mesh.id })
    peer.child.kill('SIGTERM')
    expect(await peer.exited).toEqual({ code: 0, signal: null })
  })

  it("peer --require calls a module's onJoin(mesh): the demo's chat log, mirrored with its history", async () => {
    const module = fileURLToPath(new URL('../../demo/chat-server.ts', import.meta.url))
    server = await startServer()
    const { url } = server.address()
    const mesh = await joinMesh(url, 'cli-chat')
    meshes.push(mesh)
    const peer = run(['peer', '--signaling', url, '--room', 'cli-chat', '--require', module])
    children.push(peer.child)
    await until('the CLI peer to connect', () => mesh.peers.length === 1, 15_000)
    const peerId = mesh.peers[0]!
    await until('the chat log to be served', () => peer.output().includes('the chat log is served'), 15_000)
    expect(await mesh.call(peerId, 'demo.chat.post', { text: 'before subscribing' })).toBe(true)
    const subscription = await mesh.call(peerId, 'demo.chat.log', { buffer: 16 })
    expect(subscription).toBeInstanceOf(ListSubscription)
    const mirror = (subscription as ListSubscription<unknown>).mirror()
    await mirror.whenComplete()
    expect(mirror.value).toEqual([{ from: mesh.id, text: 'before subscribing' }])
    expect(await mesh.call(peerId, 'demo.chat.post', { text: 'after' })).toBe(true)
    await until('the new line in the mirror', () => mirror.value.length === 2)
    peer.child.kill('SIGTERM')
    expect(await peer.exited).toEqual({ code: 0, signal: null })
    await expect(mirror.whenDone()).rejects.toMatchObject({ code: 'CHANNEL_CLOSED' })
  })

  it('peer --require refuses a module whose hops fail the build checks, with exit code 2 and file:line:col', async () => {
    const module = fileURLToPath(new URL('../plugin/fixtures/missing-capture.ts', import.meta.url))
    const peer = run(['peer', '--signaling', 'ws://127.0.0.1:9', '--room', 'never', '--require', module])
    children.push(peer.child)
    expect((await peer.exited).code).toBe(2)
    expect(peer.output()).toContain(`${module}:7:20: the hop body uses quantity (7:20), discount (7:36) from an enclosing scope without capturing them`)
  })
})
