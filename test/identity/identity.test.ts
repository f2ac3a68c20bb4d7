/**
 * Identity: self-certifying ids, signatures, public-key import, file persistence, and the base64url
 * helpers the wire format relies on.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { MeshscopeError } from '../../src/errors.js'
import { fileIdentityStore } from '../../src/identity/file-store.js'
import { Identity, PEER_ID_PATTERN, importPublicKey, peerIdFromPublicKey, verifySignature } from '../../src/identity/identity.js'
import { loadOrCreateIdentity, type IdentityStore } from '../../src/identity/store.js'
import { fromBase64Url, toBase64Url } from '../../src/util/bytes.js'

/** Node's own base64url, as an independent oracle for ours. */
const nodeBase64Url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')
const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

describe('Identity', () => {
  let alice: Identity
  let bob: Identity
  beforeAll(async () => {
    alice = await Identity.generate()
    bob = await Identity.generate()
  })

  it('generate gives a 32-hex id derived from its public key', async () => {
    expect(alice.id).toMatch(PEER_ID_PATTERN)
    expect(alice.id).toMatch(/^[0-9a-f]{32}$/)
    expect(alice.publicKey).toHaveLength(87)
    const raw = fromBase64Url(alice.publicKey)!
    expect(raw).toHaveLength(65)
    expect(raw[0]).toBe(0x04)
    expect(await peerIdFromPublicKey(raw)).toBe(alice.id)
    // The id is the first 16 bytes of SHA-256 over the raw key, checked against Node's hash.
    expect(alice.id).toBe(createHash('sha256').update(raw).digest('hex').slice(0, 32))
    expect(alice.id).not.toBe(bob.id)
  })

  it('keeps the private key non-extractable unless asked', async () => {
    expect(alice.keyPair.privateKey.extractable).toBe(false)
    const extractable = await Identity.generate({ extractable: true })
    expect(extractable.keyPair.privateKey.extractable).toBe(true)
  })

  it('fromKeyPair gives back the same id and key', async () => {
    const again = await Identity.fromKeyPair(alice.keyPair)
    expect(again.id).toBe(alice.id)
    expect(again.publicKey).toBe(alice.publicKey)
  })

  it('a signature verifies with the signer’s imported public key', async () => {
    const text = 'meshscope/hello/v1\nnonce\nlobby — ünïcödé'
    const signature = await alice.sign(text)
    expect(signature).toHaveLength(86)
    expect(fromBase64Url(signature)).toHaveLength(64)
    const imported = await importPublicKey(alice.publicKey)
    expect(imported.id).toBe(alice.id)
    expect(await verifySignature(imported.key, text, signature)).toBe(true)
  })

  it('signatures are bound to their domain: the application can never make a hello or a signal', async () => {
    const { key } = await importPublicKey(alice.publicKey)
    // The very text a hello or a signal signs, signed by the application (the default domain).
    const helloText = 'meshscope/hello/v1\nnonce\nlobby'
    const byApplication = await alice.sign(helloText)
    expect(await verifySignature(key, helloText, byApplication)).toBe(true)
    expect(await verifySignature(key, helloText, byApplication, 'hello')).toBe(false)
    expect(await verifySignature(key, helloText, byApplication, 'signal')).toBe(false)
    const forHello = await alice.sign(helloText, 'hello')
    expect(await verifySignature(key, helloText, forHello, 'hello')).toBe(true)
    expect(await verifySignature(key, helloText, forHello)).toBe(false)
    expect(await verifySignature(key, helloText, forHello, 'signal')).toBe(false)
  })

  it('a signature by another key does not verify', async () => {
    const text = 'signed by bob'
    const signature = await bob.sign(text)
    const { key: aliceKey } = await importPublicKey(alice.publicKey)
    expect(await verifySignature(aliceKey, text, signature)).toBe(false)
  })

  it('a tampered text or signature does not verify', async () => {
    const text = 'offer: v=0 fingerprint AA:BB'
    const signature = await alice.sign(text)
    const { key } = await importPublicKey(alice.publicKey)
    expect(await verifySignature(key, 'offer: v=0 fingerprint AA:BC', signature)).toBe(false)
    expect(await verifySignature(key, `${text} `, signature)).toBe(false)
    const raw = fromBase64Url(signature)!
    raw[10] = raw[10]! ^ 1
    expect(await verifySignature(key, text, toBase64Url(raw))).toBe(false)
  })

  it.each([
    { name: 'an empty string', signature: () => '' },
    { name: '85 characters', signature: (valid: string) => valid.slice(1) },
    { name: '87 characters', signature: (valid: string) => `${valid}A` },
    { name: '88 characters (66 bytes)', signature: (valid: string) => `${valid}AA` },
    { name: 'standard base64 characters', signature: (valid: string) => `+/${valid.slice(2)}` },
    { name: 'padding', signature: (valid: string) => `${valid.slice(0, 84)}==` },
    { name: 'a non-canonical last character', signature: (valid: string) => valid.slice(0, 85) + withStrayBit(valid.at(-1)!) },
    { name: '64 zero bytes', signature: () => toBase64Url(new Uint8Array(64)) },
    {
      name: 'a DER-encoded signature',
      signature: () => toBase64Url(new Uint8Array([0x30, 0x44, 0x02, 0x20, ...new Uint8Array(32).fill(1), 0x02, 0x20, ...new Uint8Array(32).fill(2)])),
    },
  ])('a malformed signature ($name) returns false without throwing', async ({ signature }) => {
    const text = 'text'
    const valid = await alice.sign(text)
    const { key } = await importPublicKey(alice.publicKey)
    await expect(verifySignature(key, text, signature(valid))).resolves.toBe(false)
  })
})

/**
 * The last digit of a canonical encoding with its lowest bit set. That bit is a stray one: an 86-digit
 * signature carries 516 bits for 512 bytes' worth, an 87-digit key 522 for 520, so it must be zero.
 */
function withStrayBit(digit: string): string {
  return BASE64URL_ALPHABET[BASE64URL_ALPHABET.indexOf(digit) | 1]!
}

describe('importPublicKey', () => {
  let valid: Uint8Array
  beforeAll(async () => {
    valid = fromBase64Url((await Identity.generate()).publicKey)!
  })

  const withByte = (bytes: Uint8Array, index: number, value: number) => {
    const copy = new Uint8Array(bytes)
    copy[index] = value
    return copy
  }
  const point = (x: number, y: number) => {
    const raw = new Uint8Array(65)
    raw[0] = 0x04
    raw[32] = x
    raw[64] = y
    return raw
  }

  it.each([
    { name: '64 bytes', key: () => toBase64Url(valid.subarray(0, 64)) },
    { name: '66 bytes', key: () => toBase64Url(new Uint8Array([...valid, 0])) },
    { name: 'an empty string', key: () => '' },
    { name: 'a compressed point (33 bytes, prefix 0x02)', key: () => toBase64Url(new Uint8Array([0x02, ...valid.subarray(1, 33)])) },
    { name: 'prefix 0x05', key: () => toBase64Url(withByte(valid, 0, 0x05)) },
    { name: 'prefix 0x00', key: () => toBase64Url(withByte(valid, 0, 0x00)) },
    { name: 'the point (0, 0), not on the curve', key: () => toBase64Url(point(0, 0)) },
    { name: 'the point (1, 1), not on the curve', key: () => toBase64Url(point(1, 1)) },
    { name: 'a valid x with a wrong y', key: () => toBase64Url(withByte(valid, 64, valid[64]! ^ 1)) },
    { name: 'standard base64 with padding', key: () => Buffer.from(valid).toString('base64') },
    { name: 'a character outside base64url', key: () => `*${toBase64Url(valid).slice(1)}` },
    { name: 'a non-canonical last character', key: () => toBase64Url(valid).slice(0, 86) + withStrayBit(toBase64Url(valid).at(-1)!) },
  ])('refuses $name with BAD_PUBLIC_KEY', async ({ key }) => {
    const attempt = importPublicKey(key())
    await expect(attempt).rejects.toBeInstanceOf(MeshscopeError)
    await expect(attempt).rejects.toMatchObject({ code: 'BAD_PUBLIC_KEY' })
  })

  it('accepts the valid key the refusals above were derived from', async () => {
    await expect(importPublicKey(toBase64Url(valid))).resolves.toMatchObject({ id: await peerIdFromPublicKey(valid) })
  })
})

describe('fileIdentityStore and loadOrCreateIdentity', () => {
  let directory: string | undefined
  afterEach(async () => {
    if (directory) await rm(directory, { recursive: true, force: true })
    directory = undefined
  })

  it('creates the identity once, then loads the same one; the file is readable by its owner only', async () => {
    directory = await mkdtemp(join(tmpdir(), 'meshscope-identity-'))
    const path = join(directory, 'nested', 'identity.json')
    const first = await loadOrCreateIdentity(fileIdentityStore(path))
    const second = await loadOrCreateIdentity(fileIdentityStore(path))
    expect(second.id).toBe(first.id)
    expect(second.publicKey).toBe(first.publicKey)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    // The loaded private key is the same key: what it signs verifies under the first identity's public key.
    const { key } = await importPublicKey(first.publicKey)
    expect(await verifySignature(key, 'still me', await second.sign('still me'))).toBe(true)
    // Write-then-rename leaves no temporary file behind.
    expect(await readdir(join(directory, 'nested'))).toEqual(['identity.json'])
  })

  it('two different files hold two different identities', async () => {
    directory = await mkdtemp(join(tmpdir(), 'meshscope-identity-'))
    const a = await loadOrCreateIdentity(fileIdentityStore(join(directory, 'a.json')))
    const b = await loadOrCreateIdentity(fileIdentityStore(join(directory, 'b.json')))
    expect(a.id).not.toBe(b.id)
  })

  it('a corrupt file fails with IDENTITY_STORE_FAILED instead of silently creating a new identity', async () => {
    directory = await mkdtemp(join(tmpdir(), 'meshscope-identity-'))
    const path = join(directory, 'identity.json')
    await writeFile(path, '{"privateKey":', { mode: 0o600 })
    await expect(loadOrCreateIdentity(fileIdentityStore(path))).rejects.toMatchObject({ code: 'IDENTITY_STORE_FAILED' })
  })

  it('a store that cannot save fails with IDENTITY_STORE_FAILED', async () => {
    const store: IdentityStore = {
      needsExtractableKeys: true,
      load: async () => undefined,
      save: async () => {
        throw new Error('disk full')
      },
    }
    const attempt = loadOrCreateIdentity(store)
    await expect(attempt).rejects.toBeInstanceOf(MeshscopeError)
    await expect(attempt).rejects.toMatchObject({ code: 'IDENTITY_STORE_FAILED', cause: { message: 'disk full' } })
  })
})

describe('base64url', () => {
  it('round-trips random byte arrays of every length from 0 to 70, matching Node’s encoder', () => {
    for (let length = 0; length <= 70; length++) {
      for (let trial = 0; trial < 20; trial++) {
        const bytes = new Uint8Array(randomBytes(length))
        const text = toBase64Url(bytes)
        expect(text).toBe(nodeBase64Url(bytes))
        expect(fromBase64Url(text)).toEqual(bytes)
      }
    }
  })

  it.each([
    { name: 'a length of 1 mod 4', text: 'A' },
    { name: 'a length of 5', text: 'AAAAA' },
    { name: 'padding', text: 'AA==' },
    { name: 'standard base64 +', text: 'ab+d' },
    { name: 'standard base64 /', text: 'ab/d' },
    { name: 'a space', text: 'AA AA' },
    { name: 'a non-ASCII letter', text: 'AAé' },
    { name: 'a NUL', text: 'AA\u0000' },
    { name: 'stray bits in the last of 2 digits', text: 'AB' },
    { name: 'stray bits in the last of 3 digits', text: 'AAB' },
    { name: 'stray bits after 64 bytes', text: `${'A'.repeat(85)}B` },
  ])('refuses $name', ({ text }) => {
    expect(fromBase64Url(text)).toBeUndefined()
  })

  it('decodes the empty string to no bytes', () => {
    expect(fromBase64Url('')).toEqual(new Uint8Array(0))
  })

  it('accepts exactly the canonical spellings: every 2- and 3-digit string decodes iff it re-encodes to itself', () => {
    const counts = { 2: 0, 3: 0 }
    const wrong: string[] = []
    const check = (text: string, digits: 2 | 3) => {
      const decoded = fromBase64Url(text)
      // Node's decoder is lenient, so re-encoding what it decodes tells whether `text` is canonical.
      const isCanonical = nodeBase64Url(Buffer.from(text, 'base64url')) === text
      if (decoded !== undefined) counts[digits]++
      if ((decoded !== undefined) !== isCanonical || (decoded && toBase64Url(decoded) !== text)) wrong.push(text)
    }
    for (const a of BASE64URL_ALPHABET) {
      for (const b of BASE64URL_ALPHABET) {
        check(a + b, 2)
        for (const c of BASE64URL_ALPHABET) check(a + b + c, 3)
      }
    }
    expect(wrong).toEqual([])
    // 2 digits carry one byte and 3 digits two: 256 and 65 536 canonical spellings.
    expect(counts).toEqual({ 2: 256, 3: 65_536 })
  })
})
