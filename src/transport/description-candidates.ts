/**
 * A description that carries this side's first ICE candidates: the offer (or answer) waits for the
 * first candidates (candidate-batch.ts) — host candidates, gathered a few milliseconds after the
 * description is applied, and those that come within DESCRIPTION_CANDIDATE_WINDOW_MS of the first —
 * and leaves with them as `a=candidate` lines, instead of the batch
 * following in a signal of its own. The peer applies them with the description, so it can start
 * its connectivity checks at once, and a link costs one signed signal less each way (fewer
 * signatures, verifications and server messages: docs/architecture.md, "Forming a mesh"). Any
 * standard peer reads candidates in a description; later candidates still trickle.
 */
import type { RtcCandidate } from './candidate-batch.js'

/**
 * How long a description waits after its first candidate for the others gathered with it (a host's
 * candidates of one protocol come within about a millisecond of each other; the batch's own window,
 * 5 ms, would hold the description back longer than its candidates save: measured in Chromium).
 */
export const DESCRIPTION_CANDIDATE_WINDOW_MS = 1

/**
 * How long a description, once applied here, waits at most for its first candidates before it
 * leaves without them (a host whose gathering is slow, or finds nothing: the batch trickles later).
 */
export const DESCRIPTION_CANDIDATE_WAIT_MS = 10

/**
 * `sdp` with `candidates` added as `a=candidate` lines at the end of the media section each belongs
 * to (by `sdpMid`, else `sdpMLineIndex`); undefined if one matches no section, so the caller sends
 * them in a signal of their own instead.
 */
export function addCandidatesToSdp(sdp: string, candidates: readonly RtcCandidate[]): string | undefined {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n'
  const lines = sdp.split(eol)
  if (lines.at(-1) === '') lines.pop()
  // Where each media section starts; the session section before the first `m=` holds no candidates.
  const starts = lines.flatMap((line, index) => (line.startsWith('m=') ? [index] : []))
  if (starts.length === 0) return undefined
  const mids = starts.map((start, n) =>
    lines
      .slice(start, starts[n + 1] ?? lines.length)
      .find((line) => line.startsWith('a=mid:'))
      ?.slice(6),
  )
  const added: string[][] = starts.map(() => [])
  for (const { candidate, sdpMid, sdpMLineIndex } of candidates) {
    let section = sdpMid !== null ? mids.indexOf(sdpMid) : -1
    if (section < 0 && sdpMLineIndex !== null && sdpMLineIndex < starts.length) section = sdpMLineIndex
    if (section < 0 || /[\r\n]/.test(candidate)) return undefined
    added[section]!.push(`a=${candidate}`)
  }
  const out: string[] = lines.slice(0, starts[0])
  for (const [n, start] of starts.entries()) out.push(...lines.slice(start, starts[n + 1] ?? lines.length), ...added[n]!)
  return `${out.join(eol)}${eol}`
}
