/**
 * Behaviour every Link implementation must have, run against the memory pair and a real wrtc link.
 */
import { describe, expect, it } from 'vitest'
import type { Link, LinkCloseInfo } from '../../src/transport/link.js'

export type LinkPairFactory = () => Promise<{ a: Link; b: Link; dispose(): Promise<void> }>

const nextClose = (link: Link) => new Promise<LinkCloseInfo>((resolve) => link.events.once('close', resolve))

function collect(link: Link): Uint8Array[] {
  const received: Uint8Array[] = []
  link.events.on('message', (data) => received.push(data.slice()))
  return received
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/**
 * `flushesOnClose`: every message accepted before `close()` arrives. wrtc cannot promise it (its
 * bufferedAmount lags behind what is really unsent, and data still queued when the channel closes is
 * dropped): for it, what arrives must be an in-order prefix. The mux never relies on it (GOAWAY).
 */
export function linkCompliance(name: string, createPair: LinkPairFactory, options: { flushesOnClose?: boolean } = {}): void {
  const flushesOnClose = options.flushesOnClose ?? true
  describe(`Link compliance: ${name}`, () => {
    it('delivers messages in order, both ways', async () => {
      const { a, b, dispose } = await createPair()
      const atB = collect(b)
      const atA = collect(a)
      for (let i = 0; i < 200; i++) void a.send(Uint8Array.of(i & 0xff, i >> 8))
      await b.send(Uint8Array.of(42))
      await until(() => atB.length === 200 && atA.length === 1)
      expect(atB.map((m) => m[0]! | (m[1]! << 8))).toEqual([...Array(200).keys()])
      expect([...atA[0]!]).toEqual([42])
      await dispose()
    })

    it('has two lanes, each in order and tagged with its lane; a full bulk lane does not hold up the latency lane', async () => {
      const { a, b, dispose } = await createPair()
      const arrived: Record<string, number[]> = { latency: [], bulk: [] }
      b.events.on('message', (data, lane) => arrived[lane]!.push(data[0]! | (data[1]! << 8)))
      const bulk: Promise<void>[] = []
      for (let i = 0; i < 64; i++) bulk.push(a.send(new Uint8Array(16 * 1024).fill(i), 'bulk').then(() => {}))
      for (let i = 0; i < 100; i++) void a.send(Uint8Array.of(i, 0), 'latency')
      await until(() => arrived.latency!.length === 100 && arrived.bulk!.length === 64)
      await Promise.all(bulk)
      expect(arrived.latency).toEqual([...Array(100).keys()])
      expect(arrived.bulk!.map((first) => first & 0xff)).toEqual([...Array(64).keys()])
      await dispose()
    })

    it('never drops bytes: 8 MiB sent as fast as send allows all arrive intact', async () => {
      const { a, b, dispose } = await createPair()
      const chunk = 16 * 1024
      const count = (8 * 1024 * 1024) / chunk
      let receivedBytes = 0
      let checksum = 0
      b.events.on('message', (data) => {
        receivedBytes += data.byteLength
        checksum = (checksum + data[0]! + data[data.byteLength - 1]!) % 1_000_003
      })
      let expected = 0
      let maxBuffered = 0
      for (let i = 0; i < count; i++) {
        const data = new Uint8Array(chunk).fill(i % 251)
        expected = (expected + 2 * (i % 251)) % 1_000_003
        await a.send(data)
        maxBuffered = Math.max(maxBuffered, a.bufferedBytes)
      }
      await until(() => receivedBytes === count * chunk, 30_000)
      expect(checksum).toBe(expected)
      // Backpressure held: the sender never had much more than its high-water mark outstanding.
      expect(maxBuffered).toBeLessThanOrEqual(1024 * 1024)
      await dispose()
    })

    it('refuses a message over maxMessageBytes without closing', async () => {
      const { a, b, dispose } = await createPair()
      await expect(a.send(new Uint8Array(a.maxMessageBytes + 1))).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' })
      const atB = collect(b)
      await a.send(new Uint8Array(a.maxMessageBytes))
      await until(() => atB.length === 1)
      expect(atB[0]!.byteLength).toBe(a.maxMessageBytes)
      await dispose()
    })

    it('close flushes accepted messages, then both sides see close with their reason', async () => {
      const { a, b, dispose } = await createPair()
      const atB = collect(b)
      const closedA = nextClose(a)
      const closedB = nextClose(b)
      for (let i = 0; i < 50; i++) void a.send(new Uint8Array(1000).fill(i))
      a.close('done')
      a.close('twice is fine')
      expect((await closedA).reason).toBe('closed')
      expect((await closedB).reason).toBe('remote-closed')
      if (flushesOnClose) expect(atB.length).toBe(50)
      else expect(atB.map((message) => message[0])).toEqual([...Array(atB.length).keys()])
      expect(a.state).toBe('closed')
      await expect(a.send(Uint8Array.of(1))).rejects.toMatchObject({ code: 'LINK_CLOSED' })
      await dispose()
    })

    it('abort ends a link that is still flushing at once: queued sends reject, the peer sees it close', async () => {
      const { a, b, dispose } = await createPair()
      const closedB = nextClose(b)
      const reasons: string[] = []
      a.events.on('close', (info) => reasons.push(info.reason))
      const sends: Promise<string>[] = []
      for (let i = 0; i < 256; i++)
        sends.push(
          a.send(new Uint8Array(16 * 1024), 'bulk').then(
            () => 'sent',
            (error: { code?: string }) => error.code ?? String(error),
          ),
        )
      a.close('leaving')
      a.abort('the owner cannot wait')
      expect(a.state).toBe('closed')
      a.abort('twice is fine')
      a.close('and a close after it')
      expect(reasons).toEqual(['closed'])
      // Every send settles: taken before the abort, or LINK_CLOSED (how many were taken depends on
      // the transport: wrtc's lagging bufferedAmount may take them all at once).
      const outcomes = await Promise.all(sends)
      expect(outcomes.filter((outcome) => outcome !== 'sent' && outcome !== 'LINK_CLOSED')).toEqual([])
      await expect(a.send(Uint8Array.of(1))).rejects.toMatchObject({ code: 'LINK_CLOSED' })
      expect(['remote-closed', 'failed']).toContain((await closedB).reason)
      await dispose()
    })
  })
}
