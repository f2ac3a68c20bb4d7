/**
 * Token-authorised rooms (issue 16, part 1) over real sockets on 127.0.0.1, with real tokens signed in
 * the test with jose: every refusal and its close code, expiry at join and while joined, refresh, a
 * JWKS served by a local HTTP server, the operator's function, and the SignalingClient's token.
 */
import { createServer, type Server } from 'node:http'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SignJWT, UnsecuredJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose'
import { WebSocket } from 'ws'
import { afterEach, describe, expect, it } from 'vitest'
import { Identity } from '../../src/identity/identity.js'
import { SignalingClient, type WebSocketConstructor } from '../../src/signaling/client.js'
import { CLOSE_CODES, SIGNALING_LIMITS } from '../../src/signaling/protocol.js'
import type { SignalingAuth } from '../../signaling/auth.js'
import { Harness, type RawClient } from './helpers.js'

const harness = new Harness()
afterEach(() => harness.dispose())

const SECRET = 'a test secret that is long enough for HS256 use'
const secretKey = new TextEncoder().encode(SECRET)
const nowSeconds = () => Math.floor(Date.now() / 1000)

interface TokenSpec {
  sub?: string
  exp?: number
  iss?: string
  aud?: string
  rooms?: unknown
  extra?: Record<string, unknown>
}

function hs256(spec: TokenSpec = {}, key: Uint8Array = secretKey): Promise<string> {
  const jwt = new SignJWT({ ...(spec.rooms !== undefined && { rooms: spec.rooms }), ...spec.extra }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt()
  if (spec.sub !== null) jwt.setSubject(spec.sub ?? 'alice')
  jwt.setExpirationTime(spec.exp ?? nowSeconds() + 600)
  if (spec.iss) jwt.setIssuer(spec.iss)
  if (spec.aud) jwt.setAudience(spec.aud)
  return jwt.sign(key)
}

/** Sends a hello with `token` and returns what the server answered: a welcome, or the close code and reason. */
async function attempt(url: string, room: string, token: string | undefined): Promise<{ welcomed: boolean; close?: number; reason?: string; error?: string }> {
  const client = await harness.connect(url)
  const identity = await Identity.generate()
  await client.sendHello(identity, room, token === undefined ? {} : { token })
  const answer = await client.waitFor((message) => message.type === 'welcome' || message.type === 'error', { what: 'a welcome or an error' })
  if (answer.type === 'welcome') return { welcomed: true }
  const closed = await client.waitForClose()
  return { welcomed: false, close: closed.code, reason: closed.reason, error: answer.code }
}

async function joinWith(url: string, room: string, token: string): Promise<{ client: RawClient; identity: Identity }> {
  const client = await harness.connect(url)
  const identity = await Identity.generate()
  await client.sendHello(identity, room, { token })
  await client.waitForType('welcome')
  return { client, identity }
}

describe('token-authorised rooms: HS256', () => {
  const auth: SignalingAuth = { secret: SECRET, issuer: 'https://issuer.test', audience: 'meshscope' }
  const good = (spec: TokenSpec = {}) => hs256({ iss: 'https://issuer.test', aud: 'meshscope', ...spec })

  it('a valid token joins; the welcome carries the attestation, the server key and when to refresh', async () => {
    const { url } = await harness.server({ auth })
    const client = await harness.connect(url)
    await client.sendHello(await Identity.generate(), 'lobby', { token: await good({ exp: nowSeconds() + 600 }) })
    const welcome = await client.waitForType('welcome')
    // The attestation (300 s) ends before the token: refresh before it.
    expect(welcome.expiresAt).toBeGreaterThan(Date.now() + 290_000)
    expect(welcome.expiresAt).toBeLessThanOrEqual(Date.now() + 300_000)
    expect(welcome.attestation).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)
    expect(welcome.serverKey).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256' })
    expect(welcome.serverKey).not.toHaveProperty('d')
    // A token that ends sooner than an attestation would: its own end, the clock tolerance counted.
    const soon = nowSeconds() + 60
    const second = await harness.connect(url)
    await second.sendHello(await Identity.generate(), 'lobby', { token: await good({ exp: soon }) })
    expect((await second.waitForType('welcome')).expiresAt).toBe(soon * 1000 + 5_000)
  })

  it('refuses every bad token with its code and close code', async () => {
    const { url, log } = await harness.server({ auth })
    const expectations: Array<[string, string | undefined, string, number]> = [
      ['no token', undefined, 'TOKEN_REQUIRED', CLOSE_CODES.unauthorized],
      ['expired', await good({ exp: nowSeconds() - 60 }), 'TOKEN_EXPIRED', CLOSE_CODES.unauthorized],
      ['wrong issuer', await good({ iss: 'https://evil.test' }), 'TOKEN_INVALID', CLOSE_CODES.unauthorized],
      ['wrong audience', await good({ aud: 'someone-else' }), 'TOKEN_INVALID', CLOSE_CODES.unauthorized],
      ['forged signature', await good().then(forgeSignature), 'TOKEN_INVALID', CLOSE_CODES.unauthorized],
      [
        'another secret',
        await hs256({ iss: 'https://issuer.test', aud: 'meshscope' }, new TextEncoder().encode('x'.repeat(48))),
        'TOKEN_INVALID',
        CLOSE_CODES.unauthorized,
      ],
      [
        'alg none',
        new UnsecuredJWT({ sub: 'alice', iss: 'https://issuer.test', aud: 'meshscope' }).setExpirationTime('10m').encode(),
        'TOKEN_INVALID',
        CLOSE_CODES.unauthorized,
      ],
      ['wrong algorithm', await es256Token(), 'TOKEN_INVALID', CLOSE_CODES.unauthorized],
      ['no sub', await good({ sub: null as unknown as string }), 'TOKEN_INVALID', CLOSE_CODES.unauthorized],
      ['not a JWT', 'hello.there.friend', 'TOKEN_INVALID', CLOSE_CODES.unauthorized],
      ['oversized', 'a'.repeat(SIGNALING_LIMITS.maxTokenLength + 1), 'TOKEN_INVALID', CLOSE_CODES.unauthorized],
      ['room not in claim', await good({ rooms: ['other'] }), 'ROOM_FORBIDDEN', CLOSE_CODES.forbidden],
      ['rooms claim not a list', await good({ rooms: 'lobby' }), 'TOKEN_INVALID', CLOSE_CODES.unauthorized],
    ]
    for (const [what, token, code, close] of expectations) {
      const result = await attempt(url, 'lobby', token)
      expect({ what, ...result }).toEqual({ what, welcomed: false, close, reason: code, error: code })
    }
    expect(log.filter((line) => line.includes(' refused ')).length).toBe(expectations.length)
  })

  it('a rooms claim allows its rooms, exactly or by prefix', async () => {
    const { url } = await harness.server({ auth })
    const token = await good({ rooms: ['lobby', 'team-*'] })
    expect(await attempt(url, 'lobby', token)).toEqual({ welcomed: true })
    expect(await attempt(url, 'team-red', token)).toEqual({ welcomed: true })
    expect((await attempt(url, 'teamred', token)).error).toBe('ROOM_FORBIDDEN')
  })

  it('a member whose token expires is removed with 4008; the room hears it left', async () => {
    const { url, server } = await harness.server({ auth: { ...auth, clockToleranceSeconds: 0 } })
    const stays = await joinWith(url, 'lobby', await good())
    const expires = await joinWith(url, 'lobby', await good({ exp: nowSeconds() + 2 }))
    const closed = await expires.client.waitForClose(5_000)
    expect(closed).toEqual({ code: CLOSE_CODES.tokenExpired, reason: 'TOKEN_EXPIRED' })
    await stays.client.waitFor((message) => message.type === 'peer-left' && message.id === expires.identity.id, { timeoutMs: 2_000 })
    expect(server.stats().peers).toBe(1)
  })

  it('a member that refreshes in time stays; a refresh for another sub is refused and changes nothing', async () => {
    const { url } = await harness.server({ auth: { ...auth, clockToleranceSeconds: 0 } })
    const member = await joinWith(url, 'lobby', await good({ exp: nowSeconds() + 2 }))
    let since = member.client.messages.length
    member.client.send({ type: 'refresh-token', token: await good({ sub: 'mallory', exp: nowSeconds() + 600 }) })
    expect((await member.client.waitForError('TOKEN_INVALID', since)).message).toContain('same sub')
    since = member.client.messages.length
    member.client.send({ type: 'refresh-token', token: await good({ exp: nowSeconds() + 600 }) })
    const refreshed = await member.client.waitForType('token-refreshed', since)
    expect(refreshed.expiresAt).toBeGreaterThan(Date.now() + 290_000) // the new attestation’s end, sooner than the token’s
    expect(refreshed.attestation).toBeTypeOf('string')
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    expect(member.client.isOpen).toBe(true)
  })

  it('a refresh with an expired or foreign-room token is refused', async () => {
    const { url } = await harness.server({ auth })
    const member = await joinWith(url, 'lobby', await good())
    member.client.send({ type: 'refresh-token', token: await good({ exp: nowSeconds() - 60 }) })
    await member.client.waitForError('TOKEN_EXPIRED')
    member.client.send({ type: 'refresh-token', token: await good({ rooms: ['other'] }) })
    await member.client.waitForError('ROOM_FORBIDDEN')
    expect(member.client.isOpen).toBe(true)
  })

  it('a room without auth works as before, and a token there is ignored', async () => {
    const { url } = await harness.server()
    expect(await attempt(url, 'lobby', undefined)).toEqual({ welcomed: true })
    expect(await attempt(url, 'lobby', 'anything.at.all')).toEqual({ welcomed: true })
  })
})

describe('token-authorised rooms: public keys and JWKS', () => {
  it('RS256 and ES256 public keys (PEM and JWK); an HS256 token made with the public key is refused', async () => {
    const rsa = await generateKeyPair('RS256', { extractable: true })
    const ec = await generateKeyPair('ES256', { extractable: true })
    const { url } = await harness.server({ auth: { publicKeys: [await exportSPKI(rsa.publicKey), await exportJWK(ec.publicKey)] } })
    const rsToken = await new SignJWT({}).setProtectedHeader({ alg: 'RS256' }).setSubject('alice').setExpirationTime('10m').sign(rsa.privateKey)
    const esToken = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setSubject('bob').setExpirationTime('10m').sign(ec.privateKey)
    expect(await attempt(url, 'lobby', rsToken)).toEqual({ welcomed: true })
    expect(await attempt(url, 'lobby', esToken)).toEqual({ welcomed: true })
    // The classic confusion: an HS256 token keyed with the public key's text.
    const confused = await hs256({}, new TextEncoder().encode(await exportSPKI(rsa.publicKey)))
    expect((await attempt(url, 'lobby', confused)).error).toBe('TOKEN_INVALID')
  })

  it('a JWKS served by a local HTTP server, and one read from a file', async () => {
    const signer = await generateKeyPair('ES256', { extractable: true })
    const jwk = { ...(await exportJWK(signer.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }
    const jwks = JSON.stringify({ keys: [jwk] })
    let fetches = 0
    const http: Server = createServer((_request, response) => {
      fetches++
      response.writeHead(200, { 'content-type': 'application/json' }).end(jwks)
    })
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    harness.track({ close: () => http.close() })
    const address = http.address() as { port: number }
    const remote = await harness.server({ auth: { jwks: `http://127.0.0.1:${address.port}/jwks.json` } })
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject('carol').setExpirationTime('10m').sign(signer.privateKey)
    expect(await attempt(remote.url, 'lobby', token)).toEqual({ welcomed: true })
    expect(fetches).toBe(1)
    const other = await generateKeyPair('ES256')
    const forged = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setSubject('carol').setExpirationTime('10m').sign(other.privateKey)
    expect((await attempt(remote.url, 'lobby', forged)).error).toBe('TOKEN_INVALID')

    const dir = mkdtempSync(join(tmpdir(), 'meshscope-jwks-'))
    writeFileSync(join(dir, 'jwks.json'), jwks)
    const local = await harness.server({ auth: { jwks: join(dir, 'jwks.json') } })
    expect(await attempt(local.url, 'lobby', token)).toEqual({ welcomed: true })
  })
})

describe('token-authorised rooms: keys that cannot be loaded', () => {
  it('a bad public key, a missing JWKS file or a bad attestation key fail start-up', async () => {
    const { createSignalingServer } = await import('../../signaling/server.js')
    for (const options of [
      { auth: { publicKeys: ['-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----'] } },
      { auth: { jwks: join(tmpdir(), 'meshscope-no-such-jwks.json') } },
      { auth: { secret: SECRET }, attestation: { key: 'not a PEM' } },
    ]) {
      const server = createSignalingServer({ port: 0, host: '127.0.0.1', log: () => {}, ...options })
      await expect(server.ready).rejects.toThrow()
      await server.close()
    }
  })
})

describe('token-authorised rooms: the operator’s function', () => {
  it('decides with the token, the room and the proven peer id; refusals, throws and nonsense are refused', async () => {
    const seen: Array<[string | undefined, string, string]> = []
    const { url } = await harness.server({
      auth: (token, room, peerId) => {
        seen.push([token, room, peerId])
        if (token === 'throw') throw new Error('boom')
        if (token === 'nonsense') return { principal: { sub: 42 } } as never
        if (room === 'vault') return { refuse: 'ROOM_FORBIDDEN', reason: 'not the vault' }
        return token ? { principal: { sub: token, claims: { role: 'tester' } } } : { refuse: 'TOKEN_REQUIRED' }
      },
    })
    expect(await attempt(url, 'lobby', 'dave')).toEqual({ welcomed: true })
    expect(seen[0]![2]).toMatch(/^[0-9a-f]{32}$/)
    expect(await attempt(url, 'vault', 'dave')).toMatchObject({ close: CLOSE_CODES.forbidden, error: 'ROOM_FORBIDDEN' })
    expect(await attempt(url, 'lobby', undefined)).toMatchObject({ close: CLOSE_CODES.unauthorized, error: 'TOKEN_REQUIRED' })
    expect(await attempt(url, 'lobby', 'throw')).toMatchObject({ close: CLOSE_CODES.unauthorized, error: 'TOKEN_INVALID' })
    expect(await attempt(url, 'lobby', 'nonsense')).toMatchObject({ close: CLOSE_CODES.unauthorized, error: 'TOKEN_INVALID' })
  })

  it('a function that never decides is refused once the hello timeout passes', async () => {
    const { url } = await harness.server({ helloTimeoutMs: 300, auth: () => new Promise(() => {}) })
    expect(await attempt(url, 'lobby', 'slow')).toMatchObject({ close: CLOSE_CODES.unauthorized, error: 'TOKEN_INVALID' })
  })
})

describe('SignalingClient with a token', () => {
  const WS = WebSocket as unknown as WebSocketConstructor

  it('a refused token fails the first join with SIGNALING_REFUSED carrying the code', async () => {
    const { url } = await harness.server({ auth: { secret: SECRET } })
    const client = harness.track(new SignalingClient({ url, room: 'lobby', identity: await Identity.generate(), WebSocket: WS, token: 'not-a-jwt' }))
    const error = await client.start().catch((caught: unknown) => caught)
    expect(error).toMatchObject({ code: 'SIGNALING_REFUSED', cause: { code: 'TOKEN_INVALID' } })
  })

  it('a token function is asked at every connect, and refreshes by itself before the expiry', async () => {
    const { url } = await harness.server({ auth: { secret: SECRET, clockToleranceSeconds: 0 } })
    let asked = 0
    const client = harness.track(
      new SignalingClient({
        url,
        room: 'lobby',
        identity: await Identity.generate(),
        WebSocket: WS,
        token: () => {
          asked++
          return hs256({ exp: nowSeconds() + 3 })
        },
      }),
    )
    await client.start()
    expect(asked).toBe(1)
    const refreshed = await new Promise((resolve) => client.events.once('token-refreshed', resolve))
    expect(refreshed).toMatchObject({ type: 'token-refreshed' })
    expect(asked).toBe(2)
    expect(client.state).toBe('joined')
  })

  it('refreshToken with a string: accepted, then another sub refused with TOKEN_INVALID', async () => {
    const { url } = await harness.server({ auth: { secret: SECRET } })
    const client = harness.track(new SignalingClient({ url, room: 'lobby', identity: await Identity.generate(), WebSocket: WS, token: await hs256() }))
    await client.start()
    await expect(client.refreshToken(await hs256())).resolves.toMatchObject({ type: 'token-refreshed' })
    await expect(client.refreshToken(await hs256({ sub: 'mallory' }))).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
  })
})

/** The same token with one character inside its signature changed (not the last: it may hold only padding bits). */
function forgeSignature(token: string): string {
  const at = token.lastIndexOf('.') + 5
  return token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1)
}

async function es256Token(): Promise<string> {
  const { privateKey } = await generateKeyPair('ES256')
  return new SignJWT({ iss: 'https://issuer.test', aud: 'meshscope' })
    .setProtectedHeader({ alg: 'ES256' })
    .setSubject('alice')
    .setExpirationTime('10m')
    .sign(privateKey)
}
