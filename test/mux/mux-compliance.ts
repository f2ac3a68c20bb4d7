/**
 * Behaviour every multiplexer session must have, whatever the link: run over the memory pair and
 * over a real wrtc data channel.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { nextIncoming, pattern, readAll, sameBytes, tick, type SessionPairFactory } from './helpers.js'

export function muxCompliance(name: string, createPair: SessionPairFactory): void {
  describe(`mux compliance: ${name}`, () => {
    it('carries messages of every size in order, and ends the stream on close', async () => {
      const { a, b, dispose } = await createPair()
      const incoming = nextIncoming(b)
      const stream = a.openStream()
      const sizes = [0, 1, 100, 16 * 1024 - 6, 16 * 1024 - 5, 16 * 1024, 100_000, 1024 * 1024 + 7]
      const sent = Promise.all(sizes.map((size, i) => stream.send(pattern(size, i))))
      stream.close()
      const received = await readAll(await incoming)
      await sent
      expect(received.map((message) => message.byteLength)).toEqual(sizes)
      for (const [i, message] of received.entries()) expect(sameBytes(message, pattern(sizes[i]!, i))).toBe(true)
      await dispose()
    })

    it('a message sent as parts arrives as one message, whatever the parts and chunk boundaries', async () => {
      const { a, b, dispose } = await createPair()
      const incoming = nextIncoming(b)
      const stream = a.openStream()
      // Parts smaller than, straddling and larger than a 16 KiB frame, and empty ones.
      const shapes = [[7, 64 * 1024], [0, 5, 0], [16 * 1024 - 6 - 7, 7, 16 * 1024], [3, 3, 3, 100_000, 1], [0]]
      const expected: Uint8Array[] = []
      const sent = shapes.map((sizes, i) => {
        const parts = sizes.map((size, j) => pattern(size, i * 10 + j))
        const joined = new Uint8Array(sizes.reduce((n, size) => n + size, 0))
        let offset = 0
        for (const part of parts) joined.set(part, (offset += part.byteLength) - part.byteLength)
        expected.push(joined)
        return stream.send(parts)
      })
      stream.close()
      const received = await readAll(await incoming)
      await Promise.all(sent)
      expect(received.map((message) => message.byteLength)).toEqual(expected.map((message) => message.byteLength))
      for (const [i, message] of received.entries()) expect(sameBytes(message, expected[i]!)).toBe(true)
      await dispose()
    })

    it('streams are bidirectional and independent', async () => {
      const { a, b, dispose } = await createPair()
      const incoming = nextIncoming(b)
      const atA = a.openStream()
      await atA.send(Uint8Array.of(1))
      const atB = await incoming
      expect(await atB.receive()).toEqual(Uint8Array.of(1))
      await atB.send(Uint8Array.of(2))
      expect(await atA.receive()).toEqual(Uint8Array.of(2))
      atA.close()
      atB.close()
      expect(await atB.receive()).toBeNull()
      expect(await atA.receive()).toBeNull()
      await tick(20)
      expect(a.streamCount).toBe(0)
      expect(b.streamCount).toBe(0)
      await dispose()
    })

    it('a slow receiver slows only its own stream: the sender waits for credit, other streams flow', async () => {
      const { a, b, dispose } = await createPair()
      const streams = b.events
      const arrivals: ReturnType<typeof a.openStream>[] = []
      streams.on('stream', (stream) => arrivals.push(stream))
      const bulk = a.openStream()
      const chat = a.openStream()
      let bulkSent = 0
      const bulkDone = (async () => {
        for (let i = 0; i < 64; i++) {
          await bulk.send(pattern(64 * 1024, i))
          bulkSent++
        }
      })()
      for (let i = 0; i < 20; i++) await chat.send(Uint8Array.of(i))
      await tick(50)
      // Nobody reads bulk: only about one window (256 KiB = 4 messages) can be in flight.
      expect(bulkSent).toBeLessThanOrEqual(5)
      const chatAtB = arrivals[1]!
      for (let i = 0; i < 20; i++) expect(await chatAtB.receive()).toEqual(Uint8Array.of(i))
      const bulkAtB = arrivals[0]!
      for (let i = 0; i < 64; i++) expect(sameBytes(await bulkAtB.receive(), pattern(64 * 1024, i))).toBe(true)
      await bulkDone
      await dispose()
    })

    it('a small message is not stuck behind bulk data on another stream', async () => {
      const { a, b, dispose } = await createPair()
      const order: string[] = []
      b.events.on('stream', (stream) => {
        void (async () => {
          for (let message = await stream.receive(); message; message = await stream.receive()) order.push(message.byteLength === 1 ? 'small' : 'bulk')
        })().catch(() => {}) // the session is disposed while this reader still waits
      })
      const bulk = a.openStream()
      const bulkSends = Array.from({ length: 128 }, (_, i) => bulk.send(pattern(16 * 1024 - 6, i)))
      await tick(1)
      const small = a.openStream()
      await small.send(Uint8Array.of(7))
      await Promise.all(bulkSends)
      await tick(50)
      const position = order.indexOf('small')
      expect(position).toBeGreaterThanOrEqual(0)
      // Behind at most what the link buffers (256 KiB ≈ 16 chunks) plus a few chunks in the scheduler.
      expect(position).toBeLessThan(40)
      await dispose()
    })

    it('an item over the limit fails that send only', async () => {
      const { a, b, dispose } = await createPair({ b: { maxItemBytes: 64 * 1024 } })
      const incoming = nextIncoming(b)
      const stream = a.openStream()
      await expect(stream.send(new Uint8Array(64 * 1024 + 1))).rejects.toMatchObject({ code: 'ITEM_TOO_LARGE' })
      await expect(stream.send([new Uint8Array(7), new Uint8Array(64 * 1024 - 6)])).rejects.toMatchObject({ code: 'ITEM_TOO_LARGE' })
      await stream.send(new Uint8Array(64 * 1024))
      const atB = await incoming
      expect((await atB.receive())!.byteLength).toBe(64 * 1024)
      await dispose()
    })

    it('stop tells the sender why; reset fails both sides', async () => {
      const { a, b, dispose } = await createPair()
      const incoming = nextIncoming(b)
      const stream = a.openStream()
      await stream.send(Uint8Array.of(1))
      const atB = await incoming
      const reasons: string[] = []
      stream.onSendEnd((reason) => reasons.push(reason))
      atB.stop('dropped')
      await expect(
        (async () => {
          for (;;) {
            await stream.send(Uint8Array.of(2))
            await tick(1)
          }
        })(),
      ).rejects.toMatchObject({ code: 'STREAM_CLOSED' })
      expect(reasons).toEqual(['dropped'])

      const incoming2 = nextIncoming(b)
      const second = a.openStream()
      await second.send(Uint8Array.of(1))
      const secondAtB = await incoming2
      expect(await secondAtB.receive()).toEqual(Uint8Array.of(1))
      const pendingReceive = secondAtB.receive()
      second.reset('closed', 'changed my mind')
      await expect(pendingReceive).rejects.toMatchObject({ code: 'STREAM_RESET' })
      await expect(second.send(Uint8Array.of(1))).rejects.toMatchObject({ code: 'STREAM_RESET' })
      await expect(secondAtB.send(Uint8Array.of(1))).rejects.toMatchObject({ code: 'STREAM_RESET' })
      await dispose()
    })

    it('when the link dies every stream fails with DISCONNECTED and every pending promise settles', async () => {
      const { a, b, sever, dispose } = await createPair()
      const incoming = nextIncoming(b)
      const stream = a.openStream()
      await stream.send(Uint8Array.of(1))
      const atB = await incoming
      await atB.receive()
      const pendingReceive = atB.receive()
      const pendingSends = Array.from({ length: 40 }, () => stream.send(new Uint8Array(64 * 1024)))
      const settled = Promise.allSettled(pendingSends) // observed from now on: their rejections are expected
      const closed = new Promise((resolve) => a.events.once('close', resolve))
      sever()
      await expect(pendingReceive).rejects.toMatchObject({ code: 'DISCONNECTED' })
      const outcomes = await settled
      expect(outcomes.some((outcome) => outcome.status === 'rejected' && (outcome.reason as { code: string }).code === 'DISCONNECTED')).toBe(true)
      expect(await closed).toMatchObject({ reason: 'disconnected' })
      expect(() => a.openStream()).toThrow(expect.objectContaining({ code: 'DISCONNECTED' }))
      await dispose()
    })

    it('property: any interleaving of sends on N streams delivers each stream complete and in order', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(fc.nat(4), fc.integer({ min: 0, max: 40_000 })), { minLength: 1, maxLength: 40 }), async (plan) => {
          const { a, b, dispose } = await createPair()
          const expected = new Map<number, number[]>()
          const received = new Map<number, number[]>()
          const done: Promise<void>[] = []
          const streamsByIndex = new Map<number, ReturnType<typeof a.openStream>>()
          b.events.on('stream', (stream) => {
            done.push(
              (async () => {
                const list: number[] = []
                received.set(stream.id, list)
                for (let message = await stream.receive(); message; message = await stream.receive()) {
                  expect(sameBytes(message, pattern(message.byteLength, message.byteLength))).toBe(true)
                  list.push(message.byteLength)
                }
              })(),
            )
          })
          const sends = plan.map(([index, size]) => {
            let stream = streamsByIndex.get(index)
            if (!stream) streamsByIndex.set(index, (stream = a.openStream()))
            const list = expected.get(stream.id) ?? []
            expected.set(stream.id, list)
            list.push(size)
            return stream.send(pattern(size, size))
          })
          for (const stream of streamsByIndex.values()) stream.close()
          await Promise.all(sends)
          // A send settles when the link takes the bytes, not when they arrive: wait for every stream's reader.
          while (done.length < streamsByIndex.size) await tick(1)
          await Promise.all(done)
          expect(received).toEqual(expected)
          await dispose()
        }),
        { numRuns: 25 },
      )
    })
  })
}
