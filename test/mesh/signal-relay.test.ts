/**
 * The signal relay (src/mesh/signal-relay.ts) as an attacker's neighbour would use it: what it
 * forwards, what it refuses before remembering or forwarding anything, and its rate limits. Real
 * identities and signed signals; the host records what the relay sends and reports.
 */
import { fromBase64Url, toBase64Url } from '../../src/util/bytes.js'
import { describe, expect, it } from 'vitest'
import { Identity } from '../../src/identity/identity.js'
import { RELAY_MAILBOX, RELAY_RATE, SignalRelay } from '../../src/mesh/signal-relay.js'
import { signSignal } from '../../src/mesh/signed-signal.js'
import type { JsonObject } from '../../src/signaling/protocol.js'

const ROOM = 'relay-room'
const SELF = '5'.repeat(32)
const NEIGHBOURS = ['1'.repeat(32), '2'.repeat(32), '3'.repeat(32)]

function relayWithHost(clock = { now: 0 }) {
  const sent: Array<{ to: string; value: { to: string; from: string; ttl: number } }> = []
  const delivered: string[] = []
  const reports: string[] = []
  const relay = new SignalRelay(
    {
      selfId: SELF,
      room: ROOM,
      linkedPeers: () => NEIGHBOURS,
      isLinked: (peer) => NEIGHBOURS.includes(peer),
      send: async (peer, mailbox, value) => {
        expect(mailbox).toBe(RELAY_MAILBOX)
        sent.push({ to: peer, value: value as never })
      },
      deliver: (from) => void delivered.push(from),
      report: (error) => void reports.push(error.code),
    },
    () => clock.now,
  )
  return { relay, sent, delivered, reports, clock }
}

async function signedFor(sender: Identity, to: string, options: { session?: string; t?: number; signer?: Identity } = {}): Promise<JsonObject> {
  const signed = await signSignal(options.signer ?? sender, {
    room: ROOM,
    from: sender.id,
    to,
    session: options.session ?? 'session-1',
    t: options.t,
    signal: { kind: 'description', type: 'offer', sdp: 'v=0' },
  })
  return { ...signed, publicKey: sender.publicKey }
}

const FAR = 'f'.repeat(32) // a recipient with no link and no route: the relay floods

describe('the signal relay', () => {
  it('carries a verified signal: floods it to the other neighbours once, delivers one addressed here', async () => {
    const { relay, sent, delivered, reports } = relayWithHost()
    const origin = await Identity.generate()
    const value = { to: FAR, from: origin.id, ttl: 3, payload: await signedFor(origin, FAR) }
    await relay.receive(NEIGHBOURS[0]!, value)
    expect(sent.map((s) => s.to)).toEqual([NEIGHBOURS[1], NEIGHBOURS[2]])
    expect(sent[0]!.value.ttl).toBe(2)
    await relay.receive(NEIGHBOURS[1]!, value) // the flood coming back
    expect(sent).toHaveLength(2)
    await relay.receive(NEIGHBOURS[0]!, { to: SELF, from: origin.id, ttl: 3, payload: await signedFor(origin, SELF) })
    expect(delivered).toEqual([origin.id])
    expect(reports).toEqual([])
  })

  it.each([
    [
      'a signature by another key',
      async (o: Identity) => ({ to: FAR, from: o.id, ttl: 3, payload: await signedFor(o, FAR, { signer: await Identity.generate() }) }),
    ],
    ['a key that is not the sender’s', async (o: Identity) => ({ to: FAR, from: '9'.repeat(32), ttl: 3, payload: await signedFor(o, FAR) })],
    ['a body signed for another recipient', async (o: Identity) => ({ to: FAR, from: o.id, ttl: 3, payload: await signedFor(o, NEIGHBOURS[2]!) })],
    ['a signal signed an hour ago', async (o: Identity) => ({ to: FAR, from: o.id, ttl: 3, payload: await signedFor(o, FAR, { t: Date.now() - 3_600_000 }) })],
    [
      'an extra field in the payload',
      async (o: Identity) => ({ to: FAR, from: o.id, ttl: 3, payload: { ...(await signedFor(o, FAR)), padding: 'x'.repeat(1_000) } }),
    ],
    [
      'a body over the limit',
      async (o: Identity) => ({ to: FAR, from: o.id, ttl: 3, payload: { ...(await signedFor(o, FAR)), body: 'x'.repeat(32 * 1024 + 1) } }),
    ],
    [
      'a signature string of another length',
      async (o: Identity) => ({ to: FAR, from: o.id, ttl: 3, payload: { ...(await signedFor(o, FAR)), signature: 'x'.repeat(10_000) } }),
    ],
    ['no key', async (o: Identity) => ({ to: FAR, from: o.id, ttl: 3, payload: { ...(await signedFor(o, FAR)), publicKey: undefined } })],
  ])('refuses %s before remembering or forwarding anything', async (_, make) => {
    const { relay, sent, reports } = relayWithHost()
    const origin = await Identity.generate()
    await relay.receive(NEIGHBOURS[0]!, await make(origin))
    expect(sent).toEqual([])
    expect(reports).toHaveLength(1)
    expect(['BAD_SIGNAL', 'BAD_PUBLIC_KEY']).toContain(reports[0])
    // Nothing of it was remembered: the genuine signal still goes through.
    await relay.receive(NEIGHBOURS[0]!, { to: FAR, from: origin.id, ttl: 3, payload: await signedFor(origin, FAR) })
    expect(sent.length).toBeGreaterThan(0)
  })

  it(`a neighbour past ${RELAY_RATE} signals a second (a burst of ${2 * RELAY_RATE}) is refused, reported once; it recovers with time`, async () => {
    const { relay, sent, reports, clock } = relayWithHost()
    const origins = await Promise.all(Array.from({ length: 3 * RELAY_RATE }, () => Identity.generate()))
    const values = await Promise.all(origins.map(async (o) => ({ to: FAR, from: o.id, ttl: 3, payload: await signedFor(o, FAR) })))
    for (const value of values) await relay.receive(NEIGHBOURS[0]!, value)
    expect(sent).toHaveLength(2 * RELAY_RATE * 2) // each admitted one flooded to the two other neighbours
    expect(reports).toEqual(['RATE_LIMITED'])
    clock.now += 1_000
    await relay.receive(NEIGHBOURS[0]!, values.at(-1)!)
    expect(sent).toHaveLength(2 * RELAY_RATE * 2 + 2)
  })

  it('one origin is limited across all neighbours', async () => {
    const { relay, sent, reports } = relayWithHost()
    const origin = await Identity.generate()
    for (let i = 0; i < 3 * RELAY_RATE; i++) {
      const via = NEIGHBOURS[i % 3]!
      await relay.receive(via, { to: FAR, from: origin.id, ttl: 3, payload: await signedFor(origin, FAR, { session: `session-${i}xx` }) })
    }
    expect(reports).toEqual(['RATE_LIMITED'])
    expect(sent.length).toBe(2 * RELAY_RATE * 2)
  })

  it('the second valid form of a signature (s → n − s) does not get a signal relayed twice', async () => {
    const { relay, sent, reports } = relayWithHost()
    const origin = await Identity.generate()
    const payload = await signedFor(origin, FAR)
    const twin = { ...payload, signature: otherSignatureForm(payload.signature as string) }
    expect(twin.signature).not.toBe(payload.signature)
    await relay.receive(NEIGHBOURS[0]!, { to: FAR, from: origin.id, ttl: 3, payload })
    await relay.receive(NEIGHBOURS[0]!, { to: FAR, from: origin.id, ttl: 3, payload: twin })
    expect(sent).toHaveLength(2) // the first one, to the two other neighbours; the twin is a duplicate
    expect(reports).toEqual([])
  })
})

/** The other valid ECDSA P-256 signature of the same message: r ‖ (n − s). */
function otherSignatureForm(signature: string): string {
  const bytes = fromBase64Url(signature)!
  const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n
  let s = 0n
  for (const byte of bytes.subarray(32)) s = (s << 8n) | BigInt(byte)
  let flipped = n - s
  const out = new Uint8Array(64)
  out.set(bytes.subarray(0, 32))
  for (let i = 63; i >= 32; i--) {
    out[i] = Number(flipped & 0xffn)
    flipped >>= 8n
  }
  return toBase64Url(out)
}
