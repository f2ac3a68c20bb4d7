/**
 * Attacks on the per-peer call stream (src/rpc/call-stream.ts, serve-call-stream.ts): a hostile
 * caller writes raw messages on a `calls` stream it opens, a hostile server answers on one. What must
 * hold: the server bounds the calls it holds per peer and refuses the excess with a code; a broken
 * message or an id that does not grow ends only that stream; an answer settles at most the call
 * waiting under its id; every pending call settles when the peer goes away, on both sides.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Connection } from '../../src/channels/connection.js'
import type { MuxStream } from '../../src/mux/stream.js'
import { CallStreamAnswer, CallStreamMessage, callHeader, readCallHeader } from '../../src/rpc/call-stream-wire.js'
import { replyFromWire, replyToWire, requestToWire, type Request } from '../../src/rpc/protocol.js'
import { callsInServiceOf } from '../../src/rpc/serve-call-stream.js'
import { resolveServeLimits } from '../../src/rpc/serve-limits.js'
import type { CallContext } from '../../src/rpc/serve.js'
import { ID_A, ID_B, delay, disposeChecked, messagingPair, until, type MessagingPair } from '../rpc/helpers.js'

const call = (name: string, value: unknown): Request => ({ kind: 'call', name, value })

/** A request message as a caller writes it. */
function requestMessage(connection: Connection, id: number, request: Request): Uint8Array[] {
  return [callHeader(CallStreamMessage.request, id), connection.encode(requestToWire(request))]
}

/** The answers on a raw call stream, by id: the reply decoded, or 'accepted'. */
async function readAnswers(connection: Connection, stream: MuxStream, count: number): Promise<Map<number, unknown>> {
  const answers = new Map<number, unknown>()
  while (answers.size < count) {
    const message = await stream.receive()
    if (message === null) break
    const header = readCallHeader(message)!
    answers.set(header.id, header.type === CallStreamAnswer.accepted ? 'accepted' : replyFromWire(connection.decode(message.subarray(5))))
  }
  return answers
}

function limitServe(peers: MessagingPair, maxCallsInService: number): void {
  ;(peers.b as unknown as { host: { serveLimits: unknown } }).host.serveLimits = resolveServeLimits({ maxCallsInService })
}

describe('attack: the call stream', () => {
  let peers: MessagingPair
  afterEach(() => disposeChecked(peers))

  it('a peer that floods its call stream with 300 calls to a handler that holds them: 8 in service, the rest refused with TOO_MANY_REQUESTS', async () => {
    peers = await messagingPair()
    limitServe(peers, 8)
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    let started = 0
    peers.b.register('hold', () => {
      started++
      return released.then(() => 'done')
    })
    const connection = peers.connections.a
    const stream = connection.session.openStream('calls')
    for (let id = 1; id <= 300; id++) void stream.send(requestMessage(connection, id, call('hold', id)))
    const refused = await readAnswers(connection, stream, 292)
    expect(started).toBe(8)
    expect(callsInServiceOf(peers.connections.b)).toBe(8)
    expect([...refused.values()].every((reply) => (reply as { kind: string; error?: { code: string } }).error?.code === 'TOO_MANY_REQUESTS')).toBe(true)
    release()
    const done = await readAnswers(connection, stream, 8)
    expect([...done.keys()].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    expect([...done.values()]).toEqual(Array.from({ length: 8 }, () => ({ kind: 'value', value: 'done' })))
    // An honest call on this side's own call stream goes on.
    peers.b.register('echo', (n: unknown) => n)
    expect(await peers.a.call(ID_B, 'echo', 7)).toBe(7)
    stream.close()
  })

  it.each([
    ['a repeated id', [5, 5]],
    ['an older id', [5, 3]],
  ])('%s resets the stream: its calls fail, the handlers see their signal abort, other streams go on', async (_, ids) => {
    peers = await messagingPair()
    const aborted: unknown[] = []
    peers.b.register('hold', (_value: unknown, context: CallContext) => {
      return new Promise((resolve) => context.signal.addEventListener('abort', () => resolve(aborted.push(context.signal.reason))))
    })
    const connection = peers.connections.a
    const stream = connection.session.openStream('calls')
    for (const id of ids!) void stream.send(requestMessage(connection, id, call('hold', id))).catch(() => {})
    await expect(stream.receive()).rejects.toMatchObject({ code: 'STREAM_RESET' })
    await until('the handler in service aborted', () => aborted.length === 1)
    peers.b.register('echo', (n: unknown) => n)
    expect(await peers.a.call(ID_B, 'echo', 1)).toBe(1)
  })

  it('a malformed message (short, id 0, unknown type) resets the stream', async () => {
    peers = await messagingPair()
    const connection = peers.connections.a
    for (const message of [new Uint8Array([0, 0, 0]), callHeader(CallStreamMessage.request, 0), callHeader(7, 1)]) {
      const stream = connection.session.openStream('calls')
      void stream.send(message).catch(() => {})
      await expect(stream.receive()).rejects.toMatchObject({ code: 'STREAM_RESET' })
    }
  })

  it('a cancel for an id never asked or already answered is ignored', async () => {
    peers = await messagingPair()
    peers.b.register('echo', (n: unknown) => n)
    const connection = peers.connections.a
    const stream = connection.session.openStream('calls')
    void stream.send(requestMessage(connection, 1, call('echo', 1)))
    expect(await readAnswers(connection, stream, 1)).toEqual(new Map([[1, { kind: 'value', value: 1 }]]))
    void stream.send(callHeader(CallStreamMessage.cancel, 1))
    void stream.send(callHeader(CallStreamMessage.cancel, 99))
    void stream.send(requestMessage(connection, 2, call('echo', 2)))
    expect(await readAnswers(connection, stream, 1)).toEqual(new Map([[2, { kind: 'value', value: 2 }]]))
    stream.close()
  })

  it('a server that answers ids never asked, and twice: each call gets its own answer once, the rest is dropped', async () => {
    peers = await messagingPair()
    const connection = peers.connections.b
    peers.b.serve = async (_connection, stream) => {
      for (;;) {
        const message = await stream.receive().catch(() => null)
        if (message === null) return
        const { id } = readCallHeader(message)!
        const reply = (value: unknown) => [callHeader(CallStreamAnswer.reply, id), connection.encode(replyToWire({ kind: 'value', value }))]
        void stream.send([callHeader(CallStreamAnswer.reply, id + 1000), connection.encode(replyToWire({ kind: 'value', value: 'forged' }))])
        void stream.send(reply(`first ${id}`))
        void stream.send(reply(`second ${id}`))
      }
    }
    const results = await Promise.all([1, 2, 3].map((n) => peers.a.call(ID_B, 'any', n)))
    expect(results).toEqual(['first 1', 'first 2', 'first 3'])
  })

  it('a server that sends a malformed answer: the stream is reset, its pending calls fail with BAD_MESSAGE, the next call opens a new one', async () => {
    peers = await messagingPair()
    let streams = 0
    peers.b.serve = async (_connection, stream) => {
      streams++
      const message = await stream.receive().catch(() => null)
      if (message === null) return
      if (streams === 1) void stream.send(new Uint8Array([9, 9])).catch(() => {})
      else {
        const { id } = readCallHeader(message)!
        void stream.send([callHeader(CallStreamAnswer.reply, id), peers.connections.b.encode(replyToWire({ kind: 'value', value: 'ok' }))])
      }
    }
    await expect(peers.a.call(ID_B, 'any', 1)).rejects.toMatchObject({ code: 'BAD_MESSAGE' })
    expect(await peers.a.call(ID_B, 'any', 2)).toBe('ok')
    expect(streams).toBe(2)
  })

  it("a huge request takes a stream of its own; a hostile caller's large message on the call stream is served within the item limit", async () => {
    peers = await messagingPair({ config: { maxItemBytes: 64 * 1024 } })
    peers.b.register('size', (bytes: Uint8Array) => bytes.byteLength)
    const purposes: string[] = []
    const serve = peers.b.serve.bind(peers.b)
    peers.b.serve = (connection, stream, first) => {
      purposes.push(stream.purpose)
      return serve(connection, stream, first)
    }
    expect(await peers.a.call(ID_B, 'size', new Uint8Array(40 * 1024))).toBe(40 * 1024)
    expect(await peers.a.call(ID_B, 'size', new Uint8Array(10))).toBe(10)
    expect(purposes).toEqual(['request', 'calls'])
    // Over a frame, but within the item limit (the mux refuses more at the sender and at the receiver).
    const connection = peers.connections.a
    const stream = connection.session.openStream('calls')
    void stream.send(requestMessage(connection, 1, call('size', new Uint8Array(60 * 1024))))
    void stream.send(requestMessage(connection, 2, call('size', new Uint8Array(10))))
    expect(await readAnswers(connection, stream, 2)).toEqual(
      new Map([
        [1, { kind: 'value', value: 60 * 1024 }],
        [2, { kind: 'value', value: 10 }],
      ]),
    )
    stream.close()
  })

  it('a reply after the caller timed out is dropped; the handler saw its signal abort; the stream goes on', async () => {
    peers = await messagingPair()
    let aborted = false
    peers.b.register('late', async (_value: unknown, context: CallContext) => {
      const signal = context.signal
      await delay(100)
      aborted = signal.aborted
      return 'late'
    })
    peers.b.register('echo', (n: unknown) => n)
    await expect(peers.a.call(ID_B, 'late', 1, { timeout: 20 })).rejects.toMatchObject({ code: 'TIMEOUT' })
    await until('the handler finished', () => callsInServiceOf(peers.connections.b) === 0)
    expect(aborted).toBe(true)
    expect(await peers.a.call(ID_B, 'echo', 2)).toBe(2)
  })

  it('the peer leaving with calls pending both ways: every call rejects with PEER_GONE, every handler sees its signal abort', async () => {
    peers = await messagingPair()
    const abortedAt: string[] = []
    const hold = (side: string) => (_value: unknown, context: CallContext) =>
      new Promise(() => context.signal.addEventListener('abort', () => abortedAt.push(side)))
    peers.a.register('hold', hold('a'))
    peers.b.register('hold', hold('b'))
    const pending = [...Array.from({ length: 5 }, () => peers.a.call(ID_B, 'hold', 1)), ...Array.from({ length: 5 }, () => peers.b.call(ID_A, 'hold', 1))]
    await until('all ten in service', () => callsInServiceOf(peers.connections.a) === 5 && callsInServiceOf(peers.connections.b) === 5)
    peers.pair.sever()
    for (const outcome of await Promise.allSettled(pending)) expect(outcome).toMatchObject({ status: 'rejected', reason: { code: 'PEER_GONE' } })
    await until('every handler aborted', () => abortedAt.length === 10)
  })

  it('at most once and in order: 200 pipelined sends and calls, some given up, each handled once, sends in order', async () => {
    peers = await messagingPair()
    const seen: number[] = []
    peers.b.register<number>('log', (n) => void seen.push(n))
    const ran = new Map<number, number>()
    peers.b.register<number, number>('count', async (n) => {
      ran.set(n, (ran.get(n) ?? 0) + 1)
      await delay(n % 3 === 0 ? 50 : 0)
      return n
    })
    const sends = Array.from({ length: 100 }, (_, i) => peers.a.send(ID_B, 'log', i))
    const calls = Array.from({ length: 100 }, (_, i) => peers.a.call(ID_B, 'count', i, { timeout: i % 3 === 0 ? 10 : 5_000 }).catch((e) => e.code))
    await Promise.all(sends)
    const results = await Promise.all(calls)
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i))
    expect(results).toEqual(Array.from({ length: 100 }, (_, i) => (i % 3 === 0 ? 'TIMEOUT' : i)))
    expect([...ran.values()].every((times) => times === 1)).toBe(true)
    expect(ran.size).toBe(100)
    await until('every handler done', () => callsInServiceOf(peers.connections.b) === 0)
  })
})
