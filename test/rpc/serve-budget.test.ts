/**
 * One budget per peer, serving part (docs/architecture.md "Resource budgets"): a request in service
 * counts in its peer's inbound budget until its handler settles, and a request stream whose request
 * does not arrive in time is reset. Each test performs the attack first, then asserts the outcome,
 * its code, and (where memory is the point) growth within the budget plus SLACK_BYTES.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { MeshscopeError } from '../../src/errors.js'
import { requestToWire } from '../../src/rpc/protocol.js'
import { serveRequest, type RequestTargets } from '../../src/rpc/serve.js'
import { DEFAULT_SERVE_LIMITS, resolveServeLimits } from '../../src/rpc/serve-limits.js'
import { Connection } from '../../src/channels/connection.js'
import { rawPeersDisposedAfterEach } from '../mux/raw-peer.js'
import { connectionPair, usedBytes, type ConnectionPair } from '../channels/helpers.js'
import { ID_B, disposeChecked, messagingPair, until, type MessagingPair } from './helpers.js'

const MiB = 1024 * 1024
const SLACK_BYTES = 8 * MiB
const BUDGET_BYTES = 8 * MiB
const ARGUMENT_BYTES = 1 * MiB
const CALLS = 40

/** With MUX_ATTACK_REPORT=1, prints each attack's memory growth (for the table in the closing note). */
function report(attack: string, growthBytes: number): void {
  if (process.env.MUX_ATTACK_REPORT) console.log(`[attack] ${attack}: ${(growthBytes / MiB).toFixed(1)} MiB`)
}

describe('per-peer budget: requests in service', () => {
  let peers: MessagingPair
  afterEach(() => disposeChecked(peers))

  it('40 calls of 1 MiB to a handler that never settles hold at most the budget; the rest wait (TIMEOUT) or get TOO_MANY_STREAMS', async () => {
    peers = await messagingPair({ config: { maxInboundBytes: BUDGET_BYTES }, callTimeoutMs: 2_000 })
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    let running = 0
    peers.b.register('never', () => {
      running++
      return released
    })
    const before = await usedBytes()
    const outcomes = await Promise.all(
      Array.from({ length: CALLS }, () =>
        peers.a.call(ID_B, 'never', new Uint8Array(ARGUMENT_BYTES)).then(
          () => 'ok',
          (error: { code: string }) => error.code,
        ),
      ),
    )
    // Every call settled (its caller's timeout bounds a wait); what is still in service is held at b.
    const stats = peers.pair.b.stats()
    const growth = (await usedBytes()) - before
    report('40 calls of 1 MiB to a handler that never settles', growth)
    expect(new Set(outcomes)).toEqual(new Set(['TIMEOUT', 'TOO_MANY_STREAMS']))
    expect(running).toBeLessThan(CALLS)
    expect(stats.servingBytes).toBeGreaterThan(0)
    expect(stats.servingBytes).toBeLessThanOrEqual(BUDGET_BYTES + ARGUMENT_BYTES)
    expect(growth).toBeLessThan(BUDGET_BYTES + ARGUMENT_BYTES + SLACK_BYTES)

    // Once the handlers settle, their requests leave the budget and calls go through again.
    release()
    await until('the requests in service are done', () => peers.pair.b.stats().servingBytes === 0)
    peers.b.register('echo', (value) => value)
    expect(await peers.a.call(ID_B, 'echo', 7)).toBe(7)
  }, 20_000)
})

describe('request read deadline', () => {
  let pair: ConnectionPair
  const rawPeer = rawPeersDisposedAfterEach()
  afterEach(async () => pair?.dispose())

  const targets = (requestReadTimeoutMs: number): RequestTargets => ({
    mailboxHandler: () => () => 'served',
    exportedFunction: () => undefined,
    exposedObject: () => undefined,
    report: () => {},
    serveLimits: resolveServeLimits({ requestReadTimeoutMs }),
  })

  it('a request stream opened with no request is reset after requestReadTimeoutMs: the opener sees STREAM_RESET', async () => {
    pair = await connectionPair('memory')
    const served: Promise<void>[] = []
    pair.b.session.events.on('stream', (stream) => served.push(serveRequest(pair.b, stream, targets(100))))
    const started = Date.now()
    const stream = pair.a.session.openStream('request') // and nothing sent on it
    await expect(stream.receive()).rejects.toMatchObject({ code: 'STREAM_RESET' })
    expect(Date.now() - started).toBeGreaterThanOrEqual(90)
    await Promise.all(served) // the serving side let go of it too
    expect(pair.b.session.streamCount).toBe(0)
  })

  it('a request trickled by a raw peer and never finished is reset after requestReadTimeoutMs', async () => {
    const raw = rawPeer()
    await raw.handshake()
    const connection = new Connection(raw.session, { ports: { kinds: {} } })
    const served: Promise<void>[] = []
    raw.session.events.on('stream', (stream) => served.push(serveRequest(connection, stream, targets(100))))
    await raw.send({ type: 'open', streamId: 2, purpose: 'request' })
    await raw.send({ type: 'data', streamId: 2, fin: false, payload: new Uint8Array(100) }) // a request's start, never its end
    const reset = await raw.waitFor('the RESET of the trickled request', (frame) => frame.type === 'reset' && frame.streamId === 2)
    expect(reset).toMatchObject({ reason: 'closed' })
    await Promise.all(served)
    expect(raw.session.stats()).toMatchObject({ streams: 0, servingBytes: 0, inboundBytes: 0 })
  })

  it('a request that arrives in time is served as before', async () => {
    pair = await connectionPair('memory')
    pair.b.session.events.on('stream', (stream) => void serveRequest(pair.b, stream, targets(1_000)))
    const stream = pair.a.session.openStream('request')
    await stream.send(pair.a.encode(requestToWire({ kind: 'send', name: 'inbox', value: 1 })))
    stream.close()
    expect(await stream.receive()).toBeNull() // accepted: the CLOSE, no refusal
  })

  it('ServeLimits: a 30 s default, checked once', () => {
    expect(DEFAULT_SERVE_LIMITS.requestReadTimeoutMs).toBe(30_000)
    expect(resolveServeLimits({ requestReadTimeoutMs: 1 }).requestReadTimeoutMs).toBe(1)
    expect(() => resolveServeLimits({ requestReadTimeoutMs: 0 })).toThrow(MeshscopeError)
    expect(() => resolveServeLimits({ requestReadTimeoutMs: Number.NaN })).toThrow(MeshscopeError)
  })
})
