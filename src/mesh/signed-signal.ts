/**
 * Offers, answers and ICE candidates are signed end to end with the sender's identity key, so a
 * hostile signaling server cannot swap DTLS fingerprints or inject candidates: the receiver checks the
 * signature against the public key whose hash is the sender's id.
 *
 * The signaling payload is `{ body, signature }`, where `body` is the JSON text that was signed:
 *   { v: 3, room, from, to, session, t, signal }
 * `t` is when the sender signed it (its clock, ms since the epoch): the receiver refuses a signal
 * whose `t` is outside its window and an offer older than one it already took from the same sender
 * (signals.ts), so a signal replayed later — by the server, or by a relay that once carried it —
 * cannot tear down a link. The signature is made for the `signal` domain (identity.ts).
 */
import { MeshscopeError } from '../errors.js'
import { importPublicKey, verifySignature, type Identity } from '../identity/identity.js'
import { SIGNALING_LIMITS, type JsonObject } from '../signaling/protocol.js'
import { MAX_CANDIDATES_PER_SIGNAL } from '../transport/candidate-batch.js'
import type { RtcCandidate, RtcSignal } from '../transport/webrtc-link.js'

/** 3: candidates travel in batches (`kind: 'candidates'`); a v2 signal is refused. */
const SIGNAL_VERSION = 3
/**
 * The longest signed body a signal can have: an SDP of at most MAX_SDP_LENGTH, or
 * MAX_CANDIDATES_PER_SIGNAL candidates of at most MAX_CANDIDATE_LENGTH, JSON-escaped, and the fields
 * (an offer or answer may also carry a principal attestation of up to 8 KiB).
 */
export const MAX_BODY_LENGTH = 40 * 1024
const MAX_SDP_LENGTH = 24 * 1024
const MAX_CANDIDATE_LENGTH = 1024
const SESSION_PATTERN = /^[A-Za-z0-9_-]{8,64}$/
const MAX_ATTESTATION_LENGTH = SIGNALING_LIMITS.maxAttestationLength

export interface SignedSignal {
  room: string
  from: string
  to: string
  /** One connection attempt; a new session from the same peer replaces the old link. */
  session: string
  /** When the sender signed it (ms since the epoch, its clock). */
  t: number
  signal: RtcSignal | LinkRefusal
  /**
   * The sender's principal attestation (a room with auth), in offers and answers: signed with the
   * signal, so it arrives however the signal travelled (principals.ts verifies it).
   */
  attestation?: string
}

/**
 * The answer to an offer this peer has no room for (it has `maxLinks` links): sent back signed, so the
 * offerer knows at once that the peer is alive but busy, rather than waiting out `connectTimeoutMs`
 * and taking it for gone. Older peers drop it as BAD_SIGNAL (and time out, as before).
 */
export interface LinkRefusal {
  kind: 'refusal'
  code: 'PEER_BUSY'
}

/** Signs `signal`, stamped now unless `t` is given (tests). */
export async function signSignal(identity: Identity, signal: Omit<SignedSignal, 't'> & { t?: number }): Promise<JsonObject> {
  const body = JSON.stringify({ v: SIGNAL_VERSION, ...signal, t: signal.t ?? Date.now() })
  return { body, signature: await identity.sign(signingText(body), 'signal') }
}

/**
 * Checks a relayed payload: its shape, that it is for `expected.to` in `expected.room` from
 * `expected.from`, and its signature under the sender's key. Throws BAD_SIGNAL otherwise.
 */
export async function openSignedSignal(payload: JsonObject, senderKey: CryptoKey, expected: { room: string; from: string; to: string }): Promise<SignedSignal> {
  const { body, signature } = payload
  if (typeof body !== 'string' || typeof signature !== 'string' || body.length > MAX_BODY_LENGTH) {
    throw new MeshscopeError('BAD_SIGNAL', 'a signal needs a body and a signature')
  }
  if (!(await verifySignature(senderKey, signingText(body), signature, 'signal'))) {
    throw new MeshscopeError('BAD_SIGNAL', `the signal from ${expected.from} is not signed by its key`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    throw new MeshscopeError('BAD_SIGNAL', 'the signal body is not JSON')
  }
  const value = parsed as Record<string, unknown>
  if (typeof parsed !== 'object' || parsed === null || value.v !== SIGNAL_VERSION) throw new MeshscopeError('BAD_SIGNAL', 'unsupported signal version')
  if (value.room !== expected.room || value.from !== expected.from || value.to !== expected.to) {
    throw new MeshscopeError('BAD_SIGNAL', 'the signal was signed for another room, sender or recipient')
  }
  if (typeof value.session !== 'string' || !SESSION_PATTERN.test(value.session)) throw new MeshscopeError('BAD_SIGNAL', 'the signal has no valid session')
  if (typeof value.t !== 'number' || !Number.isSafeInteger(value.t) || value.t < 0) throw new MeshscopeError('BAD_SIGNAL', 'the signal has no valid time')
  const signal = parseRtcSignal(value.signal)
  if (!signal) throw new MeshscopeError('BAD_SIGNAL', 'the signal is neither a description nor a candidate')
  const { attestation } = value
  if (attestation !== undefined && (typeof attestation !== 'string' || attestation.length > MAX_ATTESTATION_LENGTH))
    throw new MeshscopeError('BAD_SIGNAL', 'the signal carries an attestation that is not a bounded string')
  return {
    room: expected.room,
    from: expected.from,
    to: expected.to,
    session: value.session,
    t: value.t,
    signal,
    ...(typeof attestation === 'string' && { attestation }),
  }
}

/**
 * Checks a signal a relay is asked to carry, as fully as its recipient will: the key it carries
 * hashes to `expected.from`, the signature is that key's, and the body is for `expected.to` in
 * `expected.room`. Throws BAD_PUBLIC_KEY or BAD_SIGNAL, so a relay carries (and remembers) nothing
 * its sender could not have signed.
 */
export async function verifyCarriedSignal(payload: JsonObject, expected: { room: string; from: string; to: string }): Promise<SignedSignal> {
  if (typeof payload.publicKey !== 'string') throw new MeshscopeError('BAD_SIGNAL', 'a relayed signal must carry its sender’s key')
  const { id, key } = await importPublicKey(payload.publicKey)
  if (id !== expected.from) throw new MeshscopeError('BAD_PUBLIC_KEY', `the key of a relayed signal is not ${expected.from}'s`)
  return openSignedSignal(payload, key, expected)
}

function parseRtcSignal(value: unknown): RtcSignal | LinkRefusal | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const signal = value as Record<string, unknown>
  if (signal.kind === 'refusal') return signal.code === 'PEER_BUSY' ? { kind: 'refusal', code: 'PEER_BUSY' } : undefined
  if (signal.kind === 'description') {
    if ((signal.type !== 'offer' && signal.type !== 'answer') || typeof signal.sdp !== 'string' || signal.sdp.length > MAX_SDP_LENGTH) return undefined
    return { kind: 'description', type: signal.type, sdp: signal.sdp }
  }
  if (signal.kind === 'candidates') {
    const list = signal.candidates
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_CANDIDATES_PER_SIGNAL) return undefined
    const candidates: RtcCandidate[] = []
    for (const item of list) {
      const candidate = parseCandidate(item)
      if (!candidate) return undefined
      candidates.push(candidate)
    }
    return { kind: 'candidates', candidates }
  }
  return undefined
}

function parseCandidate(value: unknown): RtcCandidate | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const { candidate, sdpMid, sdpMLineIndex } = value as Record<string, unknown>
  if (typeof candidate !== 'string' || candidate.length > MAX_CANDIDATE_LENGTH) return undefined
  if (sdpMid !== null && (typeof sdpMid !== 'string' || sdpMid.length > 64)) return undefined
  if (sdpMLineIndex !== null && (typeof sdpMLineIndex !== 'number' || !Number.isInteger(sdpMLineIndex) || sdpMLineIndex < 0 || sdpMLineIndex > 64))
    return undefined
  return { candidate, sdpMid, sdpMLineIndex }
}

function signingText(body: string): string {
  return `meshscope/signal/v${SIGNAL_VERSION}\n${body}`
}
