/**
 * Principals every peer can verify (issue 16, part 2), end to end over real wrtc links and a real
 * signaling server with auth: a mailbox handler, an exposed method, a hop body (and a nested chain),
 * `defineHop`'s `allow` and a cluster handler see the caller's principal; a room without auth has
 * none; a peer pinned to another key refuses links; a scamp link signalled through the mesh carries
 * it; renewals keep it alive past one attestation's lifetime. The attestation checks themselves
 * (forged, foreign room, another peer, expired, untrusted key) run against real signed attestations.
 */
import { SignJWT, exportJWK, exportPKCS8, generateKeyPair } from 'jose'
import { afterEach, describe, expect, it } from 'vitest'
import { Identity } from '../../src/identity/identity.js'
import type { Principal } from '../../src/identity/principal.js'
import type { Mesh } from '../../src/mesh/mesh.js'
import { Principals } from '../../src/mesh/principals.js'
import type { CallContext } from '../../src/rpc/serve.js'
import { defineHop, hop, type HopError } from '../../src/scope/index.js'
import { Attestor } from '../../signaling/attestation.js'
import type { SignalingServer } from '../../signaling/index.js'
import type { SignalingServerOptions } from '../../signaling/options.js'
import { closeChecked, fullMesh, joinMesh, startServer, until } from './helpers.js'

const SECRET = 'the principals test secret, long enough for HS256'
const secretKey = new TextEncoder().encode(SECRET)

function token(sub: string, claims: Record<string, unknown> = {}, expiresIn = '10m'): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime(expiresIn).sign(secretKey)
}

const AUTH: SignalingServerOptions = { auth: { secret: SECRET }, attestation: { claims: ['role'] } }

// Hop blocks are registered at module level, as the build plugin does.
const principalHere = defineHop('test/principals:here', (_: object, here) => ({ caller: here.caller, principal: here.principal ?? null }))
const requiresPrincipal = defineHop('test/principals:require', (_: object, here) => here.requirePrincipal().sub)
const onlyAlice = defineHop('test/principals:only-alice', () => 'ran', { allow: (_caller, principal) => principal?.sub === 'alice' })
const chainEnd = defineHop('test/principals:chain-end', (_: object, here) => here.principal?.sub ?? null)
const chainStart = defineHop('test/principals:chain-start', async ({ next }: { next: string }, here) => ({
  first: here.principal?.sub ?? null,
  second: await hop(here.peer(next), {}, chainEnd),
}))

let server: SignalingServer | undefined
let meshes: Mesh[] = []
afterEach(async () => {
  try {
    await closeChecked(meshes)
  } finally {
    meshes = []
    await server?.close()
    server = undefined
  }
})

async function join(room: string, options: Parameters<typeof joinMesh>[2] = {}): Promise<Mesh> {
  const mesh = await joinMesh(server!.address().url, room, options)
  meshes.push(mesh)
  return mesh
}

describe('principals in a room with auth', () => {
  it('handlers, exposed methods, hop bodies, allow and cluster handlers see the caller’s principal', async () => {
    server = await startServer(AUTH)
    const alice = await join('principals', { token: await token('alice', { role: 'admin', secret: 'not passed on' }) })
    const bob = await join('principals', { token: () => token('bob', { role: 'user' }) })
    const carol = await join('principals', { token: await token('carol') })
    await fullMesh(meshes)
    const aliceSeen: Principal = { sub: 'alice', claims: { role: 'admin' } }

    bob.register('who', (_: unknown, context: CallContext) => context.principal ?? null)
    await expect(alice.call(bob.id, 'who', null)).resolves.toEqual(aliceSeen)
    await expect(carol.call(bob.id, 'who', null)).resolves.toEqual({ sub: 'carol', claims: {} })
    // A local call sees this peer's own verified principal.
    await expect(bob.call(bob.id, 'who', null)).resolves.toEqual({ sub: 'bob', claims: { role: 'user' } })

    bob.expose('whoami', { whoami: (context: CallContext) => context.principal ?? null })
    await expect(alice.remote<{ whoami(): Principal }>(bob.id, 'whoami').whoami()).resolves.toEqual(aliceSeen)

    await expect(hop(alice.peer(bob.id), {}, principalHere)).resolves.toEqual({ caller: alice.id, principal: aliceSeen })
    await expect(hop(alice.peer(bob.id), {}, requiresPrincipal)).resolves.toBe('alice')
    await expect(hop(alice.peer(bob.id), {}, onlyAlice)).resolves.toBe('ran')
    await expect(hop(carol.peer(bob.id), {}, onlyAlice)).rejects.toMatchObject({ code: 'HOP_REFUSED' })
    // Each hop of a chain sees its own caller's principal: alice → bob → carol.
    await expect(hop(alice.peer(bob.id), { next: carol.id }, chainStart)).resolves.toEqual({ first: 'alice', second: 'bob' })

    await bob.serve('principals-svc', { request: (_: unknown, context: CallContext) => context.principal?.sub ?? null })
    await until('the cluster to be known', () => (alice.directory().clusters['principals-svc'] ?? []).includes(bob.id))
    await expect(alice.request('principals-svc', 1)).resolves.toBe('alice')
    expect(alice.principalOf(bob.id)).toEqual({ sub: 'bob', claims: { role: 'user' } })

    // Refreshing by hand: the same token again is taken; another sub is refused and changes nothing.
    await expect(carol.refreshToken()).resolves.toBeUndefined()
    await expect(alice.refreshToken(await token('mallory'))).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
    await expect(alice.call(bob.id, 'who', null)).resolves.toEqual(aliceSeen)
  })

  it('a peer pinned to another key refuses every link with ATTESTATION_INVALID', async () => {
    server = await startServer(AUTH)
    const alice = await join('pinned', { token: await token('alice') })
    const elsewhere = await new Attestor().publicKey()
    const errors: string[] = []
    const pinned = await join('pinned', { token: await token('mallory'), trustedKeys: [elsewhere as JsonWebKey] })
    pinned.on('error', (error) => errors.push(error.code))
    await until('an attestation to be refused', () => errors.includes('ATTESTATION_INVALID'), 15_000)
    expect(pinned.peers).toEqual([])
    expect(alice.peers).not.toContain(pinned.id)
    expect(pinned.principalOf(pinned.id)).toBeUndefined() // its own does not verify under the pinned key either
  })

  it('a scamp link signalled through the mesh, with the server gone, still carries the principal', async () => {
    server = await startServer(AUTH)
    const group: Mesh[] = []
    for (let i = 0; i < 10; i++) {
      group.push(await join('principals-scamp', { topology: 'scamp', token: await token(`member-${i}`), gossip: { heartbeatIntervalMs: 1_000 } }))
    }
    await until('every member in the group', () => group.every((mesh) => mesh.gossip.partialView().length > 0 && mesh.gossip.inView().length > 0), 15_000)
    const pairs = group.flatMap((a) => group.filter((b) => b !== a && !a.peers.includes(b.id)).map((b) => [a, b] as const))
    expect(pairs.length, 'some pair of ten scamp members has no link').toBeGreaterThan(0)
    const [a, stranger] = pairs[0]!
    await server.close()
    server = undefined
    await until('the signaling connections to drop', () => group.every((mesh) => mesh.signalingState !== 'joined'))
    stranger.register('who', (_: unknown, context: CallContext) => context.principal?.sub ?? null)
    await expect(a.call(stranger.id, 'who', null)).resolves.toBe(`member-${group.indexOf(a)}`)
    expect(a.principalOf(stranger.id)?.sub).toBe(`member-${group.indexOf(stranger)}`)
  })

  it('renewed attestations keep the principal past one attestation’s lifetime', async () => {
    server = await startServer({ auth: { secret: SECRET }, attestation: { ttlSeconds: 2 } })
    const alice = await join('renewal', { token: await token('alice') })
    const bob = await join('renewal', { token: () => token('bob') })
    await fullMesh(meshes)
    bob.register('who', (_: unknown, context: CallContext) => context.principal?.sub ?? null)
    await new Promise((resolve) => setTimeout(resolve, 8_000)) // past the 2 s lifetime and the 5 s tolerance
    await expect(alice.call(bob.id, 'who', null)).resolves.toBe('alice')
    expect(alice.principalOf(bob.id)?.sub).toBe('bob')
  })
})

describe('principals in a room without auth', () => {
  it('are absent everywhere; requirePrincipal fails with AUTHENTICATION_REQUIRED', async () => {
    server = await startServer()
    const a = await join('no-auth')
    const b = await join('no-auth')
    await fullMesh(meshes)
    b.register('who', (_: unknown, context: CallContext) => context.principal ?? 'absent')
    await expect(a.call(b.id, 'who', null)).resolves.toBe('absent')
    await expect(hop(a.peer(b.id), {}, principalHere)).resolves.toEqual({ caller: a.id, principal: null })
    const refused = (await hop(a.peer(b.id), {}, requiresPrincipal).catch((error: unknown) => error)) as HopError
    expect(refused.code).toBe('AUTHENTICATION_REQUIRED')
    await expect(hop(a.peer(b.id), {}, onlyAlice)).rejects.toMatchObject({ code: 'HOP_REFUSED' })
    expect(a.principalOf(b.id)).toBeUndefined()
  })

  it('a peer without a token is refused by a server with auth', async () => {
    server = await startServer(AUTH)
    await expect(joinMesh(server.address().url, 'principals')).rejects.toMatchObject({ code: 'SIGNALING_REFUSED', cause: { code: 'TOKEN_REQUIRED' } })
  })
})

describe('attestation checks', () => {
  const room = 'checks'
  const principal: Principal = { sub: 'alice', claims: {} }

  async function setting() {
    const attestor = new Attestor({ ttlSeconds: 60 })
    const peer = await Identity.generate()
    const serverKey = (await attestor.publicKey()) as JsonWebKey
    const errors: string[] = []
    const principals = new Principals('f'.repeat(32), room, undefined, (error) => errors.push(error.code))
    await principals.ownFromServer(undefined, serverKey)
    return { attestor, peer, principals, errors }
  }

  it('a valid one is taken; its principal is kept until it expires', async () => {
    const { attestor, peer, principals } = await setting()
    const { attestation } = await attestor.sign(peer.id, room, principal, undefined)
    await principals.admit(peer.id, attestation)
    expect(principals.of(peer.id)).toEqual(principal)
    principals.forget(peer.id)
    expect(principals.of(peer.id)).toBeUndefined()
  })

  it('forged, another peer’s, another room’s, expired, untrusted-key and missing ones are refused with ATTESTATION_INVALID', async () => {
    const { attestor, peer, principals } = await setting()
    const other = await Identity.generate()
    const { attestation } = await attestor.sign(peer.id, room, principal, undefined)
    const [head, body, signature] = attestation.split('.') as [string, string, string]
    const forgedBody = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), sub: 'root' })).toString('base64url')
    const cases: Array<[string, string | undefined]> = [
      ['forged claims', `${head}.${forgedBody}.${signature}`],
      ['another peer’s', (await attestor.sign(other.id, room, principal, undefined)).attestation],
      ['another room’s', (await attestor.sign(peer.id, 'elsewhere', principal, undefined)).attestation],
      ['expired', (await attestor.sign(peer.id, room, principal, Date.now() - 60_000)).attestation],
      ['untrusted key', (await new Attestor().sign(peer.id, room, principal, undefined)).attestation],
      ['a plain JWT of the right key but not an attestation', await plainJwt()],
      ['missing', undefined],
    ]
    for (const [what, presented] of cases) {
      const error = await principals.admit(peer.id, presented).then(
        () => undefined,
        (caught: unknown) => caught,
      )
      expect({ what, code: (error as { code?: string } | undefined)?.code }).toEqual({ what, code: 'ATTESTATION_INVALID' })
      expect(principals.of(peer.id)).toBeUndefined()
    }
  })

  it('a renewal for another sub is refused and the old principal stays', async () => {
    const { attestor, peer, principals } = await setting()
    await principals.admit(peer.id, (await attestor.sign(peer.id, room, principal, undefined)).attestation)
    const other = (await attestor.sign(peer.id, room, { sub: 'mallory', claims: {} }, undefined)).attestation
    await expect(principals.renew(peer.id, other)).rejects.toMatchObject({ code: 'ATTESTATION_INVALID' })
    await expect(principals.renew(peer.id, 42)).rejects.toMatchObject({ code: 'ATTESTATION_INVALID' })
    expect(principals.of(peer.id)).toEqual(principal)
  })

  it('instances sharing an operator’s key (PKCS#8 PEM or JWK) sign attestations the same public key verifies', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true })
    const fromPem = new Attestor({ key: await exportPKCS8(privateKey) })
    const fromJwk = new Attestor({ key: await exportJWK(privateKey) })
    expect(await fromPem.publicKey()).toEqual(await fromJwk.publicKey())
    const peer = await Identity.generate()
    const principals = new Principals('f'.repeat(32), room, [(await fromPem.publicKey()) as JsonWebKey], () => {})
    await principals.admit(peer.id, (await fromJwk.sign(peer.id, room, principal, undefined)).attestation)
    expect(principals.of(peer.id)).toEqual(principal)
    expect(() => new Attestor({ key: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' } })).not.toThrow() // refused when used:
    await expect(new Attestor({ key: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' } }).publicKey()).rejects.toThrow('private P-256')
  })

  it('without a trusted key nothing is asked for or read', async () => {
    const principals = new Principals('f'.repeat(32), room, undefined, () => {})
    await principals.admit('e'.repeat(32), undefined)
    await principals.admit('e'.repeat(32), 'anything')
    expect(principals.required).toBe(false)
    expect(principals.of('e'.repeat(32))).toBeUndefined()
  })
})

/** A JWT with the attestation's claims but not its type, signed by a key the verifier does not hold. */
async function plainJwt(): Promise<string> {
  return new SignJWT({ peer: 'x', room: 'checks' }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime('1m').sign(secretKey)
}
