/** CandidateBatch (src/transport/candidate-batch.ts): what leaves together, and when. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { CandidateBatch, MAX_CANDIDATES_PER_SIGNAL, type RtcCandidate } from '../../src/transport/candidate-batch.js'

const candidate = (n: number): RtcCandidate => ({ candidate: `candidate:${n} 1 udp 1 127.0.0.1 ${4000 + n} typ host`, sdpMid: '0', sdpMLineIndex: 0 })

describe('CandidateBatch', () => {
  let sent: RtcCandidate[][]
  let batch: CandidateBatch
  beforeEach(() => {
    vi.useFakeTimers()
    sent = []
    batch = new CandidateBatch((candidates) => sent.push(candidates), 5)
  })
  afterEach(() => vi.useRealTimers())

  it('sends every candidate gathered within the window in one signal', () => {
    for (let n = 0; n < 4; n++) batch.add(candidate(n))
    expect(sent).toEqual([])
    vi.advanceTimersByTime(5)
    expect(sent).toEqual([[candidate(0), candidate(1), candidate(2), candidate(3)]])
  })

  it('a late candidate trickles in a batch of its own', () => {
    batch.add(candidate(0))
    vi.advanceTimersByTime(5)
    batch.add(candidate(1))
    vi.advanceTimersByTime(5)
    expect(sent).toEqual([[candidate(0)], [candidate(1)]])
  })

  it(`a full batch (${MAX_CANDIDATES_PER_SIGNAL}) leaves at once; the rest waits for the next window`, () => {
    for (let n = 0; n <= MAX_CANDIDATES_PER_SIGNAL; n++) batch.add(candidate(n))
    expect(sent.map((signal) => signal.length)).toEqual([MAX_CANDIDATES_PER_SIGNAL])
    vi.advanceTimersByTime(5)
    expect(sent.map((signal) => signal.length)).toEqual([MAX_CANDIDATES_PER_SIGNAL, 1])
  })

  it('the end of gathering sends what waits at once, and nothing when nothing waits', () => {
    batch.add(candidate(0))
    batch.flush()
    batch.flush()
    expect(sent).toEqual([[candidate(0)]])
    vi.advanceTimersByTime(10)
    expect(sent).toHaveLength(1)
  })

  it('drops a candidate of a foundation and component already taken: it adds no path', () => {
    const line = (foundation: number, component: number, port: number): RtcCandidate => ({
      candidate: `candidate:${foundation} ${component} tcp 1518214911 192.0.2.2 ${port} typ host tcptype passive generation 0`,
      sdpMid: '0',
      sdpMLineIndex: 0,
    })
    batch.add(line(7, 1, 4000))
    batch.add(line(7, 1, 4001)) // gathered again on a new port
    batch.add(line(7, 2, 4002))
    vi.advanceTimersByTime(5)
    batch.add(line(7, 1, 4003))
    batch.add(line(8, 1, 4004))
    vi.advanceTimersByTime(5)
    expect(sent).toEqual([[line(7, 1, 4000), line(7, 2, 4002)], [line(8, 1, 4004)]])
  })

  it('clear drops what waits (the link closed)', () => {
    batch.add(candidate(0))
    batch.clear()
    vi.advanceTimersByTime(10)
    expect(sent).toEqual([])
  })

  describe('loopback candidates', () => {
    const host = (foundation: number, protocol: string, address: string): RtcCandidate => ({
      candidate: `candidate:${foundation} 1 ${protocol} 2122194687 ${address} ${5000 + foundation} typ host generation 0`,
      sdpMid: '0',
      sdpMLineIndex: 0,
    })
    const lines = () => sent.flat().map((sentCandidate) => sentCandidate.candidate.split(' ').slice(2, 5).join(' '))

    it('are dropped once another address of their protocol was gathered, before or after them in the window', () => {
      batch.add(host(1, 'udp', '::1'))
      batch.add(host(2, 'udp', '192.0.2.2'))
      batch.add(host(3, 'udp', '127.0.0.1'))
      batch.add(host(4, 'udp', 'fd00::2'))
      vi.advanceTimersByTime(5)
      // and in a later window
      batch.add(host(5, 'udp', '127.0.0.1'))
      vi.advanceTimersByTime(5)
      expect(lines()).toEqual(['udp 2122194687 192.0.2.2', 'udp 2122194687 fd00::2'])
      expect(sent).toHaveLength(1)
    })

    it('still leave on a host with loopback only, or for a protocol that has no other address', () => {
      batch.add(host(1, 'udp', '127.0.0.1'))
      batch.add(host(2, 'udp', '::1'))
      vi.advanceTimersByTime(5)
      batch.add(host(3, 'udp', '192.0.2.2'))
      batch.add(host(4, 'tcp', '127.0.0.1'))
      vi.advanceTimersByTime(5)
      expect(lines()).toEqual(['udp 2122194687 127.0.0.1', 'udp 2122194687 ::1', 'udp 2122194687 192.0.2.2', 'tcp 2122194687 127.0.0.1'])
    })
  })
})
