/** addCandidatesToSdp (src/transport/description-candidates.ts): where a description's first candidates go. */
import { describe, expect, it } from 'vitest'
import { addCandidatesToSdp } from '../../src/transport/description-candidates.js'
import type { RtcCandidate } from '../../src/transport/candidate-batch.js'

const candidate = (n: number, sdpMid: string | null = '0', sdpMLineIndex: number | null = 0): RtcCandidate => ({
  candidate: `candidate:${n} 1 udp 2122260223 192.0.2.${n} ${5000 + n} typ host generation 0`,
  sdpMid,
  sdpMLineIndex,
})
const session = ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0']
const dataSection = (mid: string) => [`m=application 9 UDP/DTLS/SCTP webrtc-datachannel`, 'c=IN IP4 0.0.0.0', `a=mid:${mid}`, 'a=sctp-port:5000']

describe('addCandidatesToSdp', () => {
  it('adds each candidate as an a= line at the end of its media section, keeping CRLF line ends', () => {
    const sdp = `${[...session, ...dataSection('0')].join('\r\n')}\r\n`
    const out = addCandidatesToSdp(sdp, [candidate(1), candidate(2)])
    expect(out).toBe(`${[...session, ...dataSection('0'), `a=${candidate(1).candidate}`, `a=${candidate(2).candidate}`].join('\r\n')}\r\n`)
  })

  it('finds the section by mid, else by line index', () => {
    const sdp = `${[...session, ...dataSection('a'), ...dataSection('b')].join('\r\n')}\r\n`
    const out = addCandidatesToSdp(sdp, [candidate(1, 'b', 0), candidate(2, null, 0)])!.split('\r\n')
    expect(out.indexOf(`a=${candidate(2).candidate}`)).toBeLessThan(out.indexOf('a=mid:b'))
    expect(out.indexOf(`a=${candidate(1).candidate}`)).toBeGreaterThan(out.indexOf('a=mid:b'))
  })

  it('gives up (the caller sends them on their own) when a candidate matches no section or holds a line break', () => {
    const sdp = `${[...session, ...dataSection('0')].join('\r\n')}\r\n`
    expect(addCandidatesToSdp(sdp, [candidate(1, 'x', 3)])).toBeUndefined()
    expect(addCandidatesToSdp(sdp, [{ ...candidate(1), candidate: 'candidate:1 1 udp 1 192.0.2.1 5 typ host\r\na=fingerprint:sha-256 00' }])).toBeUndefined()
    expect(addCandidatesToSdp(session.join('\r\n'), [candidate(1)])).toBeUndefined()
  })
})
