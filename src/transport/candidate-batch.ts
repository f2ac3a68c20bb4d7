/**
 * ICE candidates leave in batches: every candidate gathered within `windowMs` of the first one
 * waiting goes in one signal, so a link costs its signaling server a handful of messages instead of
 * one per candidate (four host candidates per side on a typical machine; more with STUN, IPv6, VPNs).
 * Each signal is signed and verified end to end and the server rate-limits them, so fewer, fuller
 * signals form a room faster (docs/architecture.md, "Forming a mesh"). Late candidates (STUN, TURN)
 * still trickle, one batch per window.
 *
 * A candidate with the foundation and component of one already sent is dropped: the same foundation
 * means the same type, base address and protocol (RFC 8445, 5.1.1.3), so it offers no new path. wrtc
 * gathers such candidates again and again on new ports while many connections form in one process
 * (a dozen per link with six peers), and each would cost the server a message.
 *
 * A loopback host candidate (127.0.0.0/8, ::1) is dropped once a host candidate of the same
 * protocol on another address was gathered: a peer on another host cannot reach it, and one on this
 * host reaches the other address as well (the kernel routes a host's own addresses over loopback).
 * wrtc offers both (browsers never offer loopback), so each side's UDP candidates halve and the ICE
 * checks per link — pairs of local and remote candidates, a CPU cost in both processes — fall to a
 * quarter. A host with loopback only still sends its loopback candidates.
 */

/** One ICE candidate as it travels in a signal. */
export interface RtcCandidate {
  candidate: string
  sdpMid: string | null
  sdpMLineIndex: number | null
}

/** Most candidates one signal carries; a signal with more is refused (BAD_SIGNAL) by its receiver. */
export const MAX_CANDIDATES_PER_SIGNAL = 16

/**
 * Most remote candidates one link takes (four signals full); later ones are ignored, as are all
 * that arrive once ICE has connected. A typical peer sends 4–12 (host candidates per interface,
 * then STUN), and every one taken costs an ICE check towards an address the peer chose.
 */
export const MAX_REMOTE_CANDIDATES_PER_LINK = 64

/**
 * How long the first candidate of a batch waits for more. Host candidates are gathered within a few
 * milliseconds of each other (wrtc: four in about 3 ms), so one window usually carries them all.
 */
export const CANDIDATE_BATCH_WINDOW_MS = 5

export class CandidateBatch {
  #waiting: RtcCandidate[] = []
  #timer: ReturnType<typeof setTimeout> | undefined
  /** `foundation component` of every candidate taken, to drop the ones that add no path. */
  #taken = new Set<string>()
  /** Protocols (udp, tcp) of the host candidates taken on an address other than loopback. */
  #routableProtocols = new Set<string>()

  constructor(
    private readonly flushTo: (candidates: RtcCandidate[]) => void,
    private readonly windowMs = CANDIDATE_BATCH_WINDOW_MS,
  ) {}

  /**
   * Adds a candidate, unless one of the same foundation and component was taken before; a full batch
   * leaves at once, otherwise when the window ends.
   */
  add(candidate: RtcCandidate): void {
    const path = pathOf(candidate.candidate)
    if (path !== undefined) {
      if (this.#taken.has(path)) return
      this.#taken.add(path)
    }
    const host = hostCandidateOf(candidate.candidate)
    if (host?.loopback && this.#routableProtocols.has(host.protocol)) return
    if (host && !host.loopback) this.#routableProtocols.add(host.protocol)
    this.#waiting.push(candidate)
    if (this.#waiting.length >= MAX_CANDIDATES_PER_SIGNAL) return this.flush()
    this.#timer ??= setTimeout(() => this.flush(), this.windowMs)
  }

  /** Sends what is waiting now (gathering ended: nothing more will join this batch). */
  flush(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    // A loopback candidate that waited in this batch goes only if no other address of its protocol came.
    const candidates = this.#waiting.filter((candidate) => {
      const host = hostCandidateOf(candidate.candidate)
      return !host?.loopback || !this.#routableProtocols.has(host.protocol)
    })
    this.#waiting = []
    if (candidates.length === 0) return
    this.flushTo(candidates)
  }

  /** Drops what is waiting (the link closed). */
  clear(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#waiting = []
  }
}

/** `foundation component` of an SDP candidate line (`candidate:<foundation> <component> …`), if it parses. */
function pathOf(line: string): string | undefined {
  const match = /^(?:a=)?candidate:(\S+) (\d+) /.exec(line)
  return match ? `${match[1]} ${match[2]}` : undefined
}

/** The protocol of a host candidate and whether its address is loopback; undefined for other types or lines that do not parse. */
function hostCandidateOf(line: string): { protocol: string; loopback: boolean } | undefined {
  // candidate:<foundation> <component> <protocol> <priority> <address> <port> typ <type> …
  const match = /^(?:a=)?candidate:\S+ \d+ (\S+) \d+ (\S+) \d+ typ (\S+)/.exec(line)
  if (match?.[3] !== 'host') return undefined
  const address = match[2]!
  return { protocol: match[1]!.toLowerCase(), loopback: address === '::1' || address.startsWith('127.') }
}
