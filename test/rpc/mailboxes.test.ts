import { afterEach, describe, expect, it } from 'vitest'
import { MeshscopeError } from '../../src/errors.js'
import { RemoteError } from '../../src/rpc/errors.js'
import type { CallContext } from '../../src/rpc/serve.js'
import type { MailboxRef } from '../../src/services/mailboxes.js'
import { ID_A, ID_B, delay, messagingPair, until, type MessagingPair, disposeChecked, held } from './helpers.js'

describe('mailboxes: send, call, selective receive, references', () => {
  let peers: MessagingPair
  afterEach(() => disposeChecked(peers))

  it("call resolves with the handler's reply; the handler knows the verified sender", async () => {
    peers = await messagingPair()
    peers.b.register<number, string>('double', (n, { from }) => `${from === ID_A}:${n * 2}`)
    expect(await peers.a.call(ID_B, 'double', 21)).toBe('true:42')
  })

  it('many concurrent calls whose replies come back out of order each get their own reply', async () => {
    peers = await messagingPair()
    peers.b.register<number, number>('slow-echo', async (n) => {
      await delay((n * 37) % 23)
      return n
    })
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => peers.a.call(ID_B, 'slow-echo', i)))
    expect(results).toEqual(Array.from({ length: 100 }, (_, i) => i))
    await until('streams released', () => held(peers.connections.a) === 0 && held(peers.connections.b) === 0)
  })

  it('an unknown mailbox: a call and a send reject with UNKNOWN_MAILBOX; nothing is reported', async () => {
    peers = await messagingPair()
    await expect(peers.a.call(ID_B, 'nobody', 1)).rejects.toMatchObject({ code: 'UNKNOWN_MAILBOX' })
    await expect(peers.a.send(ID_B, 'nobody', 1)).rejects.toMatchObject({ code: 'UNKNOWN_MAILBOX' })
    expect(peers.reportedAtA).toEqual([])
    expect(peers.reportedAtB).toEqual([])
  })

  it('selective receive: send 1, 2, 3; receive, receiveIf(odd), receive → 1, 3, 2', async () => {
    peers = await messagingPair()
    const box = peers.b.mailbox<number>('numbers')
    for (const n of [1, 2, 3]) await peers.a.send(ID_B, 'numbers', n)
    await until('three queued', () => box.size === 3)
    const first = await box.receive()
    const odd = await box.receiveIf((n) => n % 2 === 1)
    const last = await box.receive()
    expect([first.value, odd.value, last.value]).toEqual([1, 3, 2])
    expect(first.from).toBe(ID_A)
    expect(() => first.reply(0)).toThrow(expect.objectContaining({ code: 'NOT_A_CALL' }))
  })

  it('a receiveIf waiting for a match leaves other messages queued, in order', async () => {
    peers = await messagingPair()
    const box = peers.b.mailbox<string>('words')
    const waiting = box.receiveIf((word) => word.startsWith('z'))
    for (const word of ['apple', 'zebra', 'banana']) await peers.a.send(ID_B, 'words', word)
    expect((await waiting).value).toBe('zebra')
    await until('two queued', () => box.size === 2)
    expect((await box.receive()).value).toBe('apple')
    expect((await box.receive()).value).toBe('banana')
    await expect(box.receive({ timeout: 20 })).rejects.toMatchObject({ code: 'TIMEOUT' })
    box.close()
    await expect(peers.a.call(ID_B, 'words', 'after close')).rejects.toMatchObject({ code: 'UNKNOWN_MAILBOX' })
  })

  it('closing a mailbox hands back the accepted sends nobody received; queued calls fail', async () => {
    peers = await messagingPair()
    const box = peers.b.mailbox<string>('words')
    for (const word of ['kept', 'also kept']) await peers.a.send(ID_B, 'words', word)
    const call = peers.a.call(ID_B, 'words', 'a call')
    await until('three queued', () => box.size === 3)
    const unreceived = box.close()
    expect(unreceived.map((envelope) => [envelope.value, envelope.from, envelope.isCall])).toEqual([
      ['kept', ID_A, false],
      ['also kept', ID_A, false],
    ])
    await expect(call).rejects.toMatchObject({ code: 'REMOTE_ERROR', remoteCode: 'MESH_CLOSED' })
    expect(box.size).toBe(0)
    expect(box.close()).toEqual([])
  })

  it('a call to a mailbox object is answered with envelope.reply', async () => {
    peers = await messagingPair()
    const box = peers.b.mailbox<number>('squares')
    const answering = (async () => {
      const envelope = await box.receive()
      expect(envelope.isCall).toBe(true)
      envelope.reply(envelope.value ** 2)
    })()
    expect(await peers.a.call(ID_B, 'squares', 12)).toBe(144)
    await answering
  })

  it('a reference to a mailbox travels in a message; the receiver sends and calls back through it', async () => {
    peers = await messagingPair()
    const answers = peers.a.mailbox<string>('answers')
    peers.a.register<string, string>('shout', (text) => text.toUpperCase())
    peers.b.register<{ replyTo: MailboxRef<string>; shout: MailboxRef<string, string> }>('question', async ({ replyTo, shout }, { from }) => {
      expect(replyTo.peerId).toBe(from)
      await replyTo.send(`answer from ${ID_B.slice(0, 4)}: ${await shout.call('hello')}`)
    })
    await peers.a.send(ID_B, 'question', { replyTo: peers.a.ref('answers'), shout: peers.a.ref('shout') })
    expect((await answers.receive()).value).toBe('answer from bbbb: HELLO')
  })

  it('a call to this peer runs locally, without the network', async () => {
    peers = await messagingPair()
    peers.a.register<number, number>('local', (n, { from }) => (from === ID_A ? n + 1 : -1))
    const streamsBefore = held(peers.connections.a)
    expect(await peers.a.call(ID_A, 'local', 1)).toBe(2)
    expect(held(peers.connections.a)).toBe(streamsBefore)
    await expect(peers.a.call(ID_A, 'missing', 1)).rejects.toMatchObject({ code: 'UNKNOWN_MAILBOX' })
  })

  it('a throw in the handler rejects the caller with a RemoteError: code, message, peer, and no stack unless allowed', async () => {
    peers = await messagingPair()
    peers.b.register('fails', () => {
      throw Object.assign(new TypeError('the input was bad'), { code: 'E_BAD_INPUT' })
    })
    const error = (await peers.a.call(ID_B, 'fails', 1).catch((caught: unknown) => caught)) as RemoteError
    expect(error).toBeInstanceOf(RemoteError)
    expect(error).toMatchObject({ code: 'REMOTE_ERROR', remoteCode: 'E_BAD_INPUT', remoteName: 'TypeError', peerId: ID_B, message: 'the input was bad' })
    expect(error.remoteStack).toBeUndefined()
    await peers.dispose()

    peers = await messagingPair({ sendErrorStacks: true })
    peers.b.register('fails', () => {
      throw new Error('with a stack')
    })
    const withStack = (await peers.a.call(ID_B, 'fails', 1).catch((caught: unknown) => caught)) as RemoteError
    expect(withStack.remoteStack).toContain('mailboxes.test.ts')
  })

  it("aborting or timing out a call rejects the caller and aborts the handler's signal", async () => {
    peers = await messagingPair()
    const abortedOnB: string[] = []
    peers.b.register('slow', async (label: string, { signal }: CallContext) => {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()))
      abortedOnB.push(label)
      return 'too late'
    })
    const controller = new AbortController()
    const aborted = peers.a.call(ID_B, 'slow', 'abort', { signal: controller.signal })
    setTimeout(() => controller.abort(), 20)
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' })
    await expect(peers.a.call(ID_B, 'slow', 'timeout', { timeout: 30 })).rejects.toMatchObject({ code: 'TIMEOUT' })
    await until('both handlers aborted', () => abortedOnB.length === 2)
    expect(abortedOnB.sort()).toEqual(['abort', 'timeout'])
  })

  it('a handler that first reads its signal after the caller gave up finds it already aborted', async () => {
    peers = await messagingPair()
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    const seen: Array<{ aborted: boolean; code: unknown }> = []
    peers.b.register('late-reader', async (_: unknown, context: CallContext) => {
      await released // the signal is not touched until the caller has gone
      seen.push({ aborted: context.signal.aborted, code: (context.signal.reason as MeshscopeError | undefined)?.code })
      return 'ignored'
    })
    peers.b.register('echo', (n: unknown) => n)
    await expect(peers.a.call(ID_B, 'late-reader', 1, { timeout: 20 })).rejects.toMatchObject({ code: 'TIMEOUT' })
    // The cancel went ahead of this call on the ordered call stream: b read it before answering.
    expect(await peers.a.call(ID_B, 'echo', 2)).toBe(2)
    release()
    await until('the handler looked', () => seen.length === 1)
    expect(seen[0]).toEqual({ aborted: true, code: 'ABORTED' })
  })

  it('a peer that goes away makes every pending call reject with PEER_GONE', async () => {
    peers = await messagingPair()
    peers.b.register('never', () => new Promise(() => {}))
    const pending = Array.from({ length: 5 }, () => peers.a.call(ID_B, 'never', 1))
    await delay(20)
    peers.pair.sever()
    for (const call of pending) await expect(call).rejects.toMatchObject({ code: 'PEER_GONE' })
    await expect(peers.a.call(ID_B, 'never', 1)).rejects.toMatchObject({ code: 'PEER_NOT_CONNECTED' })
  })

  it('a reply over the size limit fails that call with a code; the mailbox goes on', async () => {
    peers = await messagingPair({ config: { maxItemBytes: 64 * 1024 } })
    peers.b.register<number, Uint8Array>('bytes', (n) => new Uint8Array(n))
    await expect(peers.a.call(ID_B, 'bytes', 100_000)).rejects.toMatchObject({ code: expect.stringMatching(/TOO_LARGE/) })
    expect(((await peers.a.call(ID_B, 'bytes', 1000)) as Uint8Array).byteLength).toBe(1000)
  })

  it('bad arguments are refused with INVALID_ARGUMENT', async () => {
    peers = await messagingPair()
    await expect(peers.a.call(ID_B, '', 1)).rejects.toBeInstanceOf(MeshscopeError)
    await expect(peers.a.call(ID_B, 'x', 1, { timeout: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect(() => peers.a.register('dup', () => {})).not.toThrow()
    expect(() => peers.a.register('dup', () => {})).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(() => peers.a.mailbox('dup')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })
})
