/**
 * Mailboxes are bounded (issue 12): a mailbox object holds at most `capacity` messages and
 * `maxQueuedBytes` bytes; a message past either bound is refused with MAILBOX_FULL, which reaches the
 * sender, and what was queued is still delivered, in order.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { MAILBOX_DEFAULTS } from '../../src/services/mailboxes.js'
import { ID_A, ID_B, disposeChecked, messagingPair, type MessagingPair } from './helpers.js'

/** Heap and array buffers after a full collection (vitest runs with --expose-gc). */
function retainedBytes(): number {
  globalThis.gc?.()
  globalThis.gc?.()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.arrayBuffers
}

const MiB = 1024 * 1024
/** What the test process allocates besides the mailbox's queue (codec buffers, streams, heap noise). */
const SLACK_BYTES = 8 * MiB

describe('bounded mailboxes', () => {
  let peers: MessagingPair
  afterEach(() => disposeChecked(peers))

  it('the defaults are documented numbers', () => {
    expect(MAILBOX_DEFAULTS).toEqual({ capacity: 1_000, maxQueuedBytes: 16 * MiB })
  })

  it.each([{ capacity: 0 }, { capacity: 1.5 }, { maxQueuedBytes: -1 }, { maxQueuedBytes: Number.POSITIVE_INFINITY }])(
    'refuses the bounds %o with INVALID_ARGUMENT',
    async (options) => {
      peers = await messagingPair()
      expect(() => peers.b.mailbox('bad', options)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    },
  )

  it('capacity: accepts exactly `capacity` messages, refuses the next with MAILBOX_FULL; a receive makes room', async () => {
    peers = await messagingPair()
    const box = peers.b.mailbox<number>('small', { capacity: 3 })
    for (const n of [1, 2, 3]) await peers.a.send(ID_B, 'small', n)
    await expect(peers.a.send(ID_B, 'small', 4)).rejects.toMatchObject({ code: 'MAILBOX_FULL' })
    await expect(peers.a.call(ID_B, 'small', 4)).rejects.toMatchObject({ code: 'MAILBOX_FULL' })
    expect((await box.receive()).value).toBe(1)
    await peers.a.send(ID_B, 'small', 5)
    expect([(await box.receive()).value, (await box.receive()).value, (await box.receive()).value]).toEqual([2, 3, 5])
  })

  it('maxQueuedBytes: accepts up to the byte bound, refuses the message that would pass it', async () => {
    peers = await messagingPair()
    const value = new Uint8Array(1_000)
    // Find one message's size as the mailbox counts it (its request's encoded bytes).
    const probe = peers.b.mailbox<Uint8Array>('probe')
    await peers.a.send(ID_B, 'probe', value)
    const messageBytes = probe.queuedBytes
    probe.close()
    const box = peers.b.mailbox<Uint8Array>('bytes', { maxQueuedBytes: 3 * messageBytes })
    for (let i = 0; i < 3; i++) await peers.a.send(ID_B, 'bytes', value)
    expect(box.queuedBytes).toBe(3 * messageBytes)
    await expect(peers.a.send(ID_B, 'bytes', value)).rejects.toMatchObject({ code: 'MAILBOX_FULL' })
    await box.receive()
    await peers.a.send(ID_B, 'bytes', value)
    expect(box.size).toBe(3)
  })

  it('a message a waiting receive takes is never counted against the bound', async () => {
    peers = await messagingPair()
    const box = peers.b.mailbox<number>('handoff', { capacity: 1 })
    const first = box.receive()
    await peers.a.send(ID_B, 'handoff', 1)
    await peers.a.send(ID_B, 'handoff', 2)
    expect((await first).value).toBe(1)
    expect(box.size).toBe(1)
  })

  it('a waiting receiveIf whose predicate throws fails with that error; the accepted message still reaches the others', async () => {
    peers = await messagingPair()
    const box = peers.b.mailbox<number>('picky')
    const broken = box.receiveIf(() => {
      throw new Error('predicate bug')
    })
    const brokenFails = expect(broken).rejects.toThrow('predicate bug') // handled before it rejects
    const any = box.receive()
    await peers.a.send(ID_B, 'picky', 7) // accepted: the throwing predicate does not lose it
    await brokenFails
    expect((await any).value).toBe(7)
    await peers.a.send(ID_B, 'picky', 8) // no waiter now: queued
    await expect(
      box.receiveIf(() => {
        throw new Error('again')
      }),
    ).rejects.toThrow('again')
    expect((await box.receive()).value).toBe(8)
  })

  it('selective receive under the bound: a receiveIf waiting for one value still gets it when others fill the box', async () => {
    peers = await messagingPair()
    const box = peers.b.mailbox<number>('select', { capacity: 2 })
    const wanted = box.receiveIf((n) => n === 100)
    await peers.a.send(ID_B, 'select', 1)
    await peers.a.send(ID_B, 'select', 2)
    await expect(peers.a.send(ID_B, 'select', 3)).rejects.toMatchObject({ code: 'MAILBOX_FULL' })
    await peers.a.send(ID_B, 'select', 100) // taken by the waiter, never queued
    expect((await wanted).value).toBe(100)
    expect([(await box.receive()).value, (await box.receive()).value]).toEqual([1, 2])
  })

  it('attack: 300 sends of 1 MiB to a mailbox whose owner waits for something else → bounded memory, MAILBOX_FULL past the bound, queued ones delivered', async () => {
    peers = await messagingPair()
    const box = peers.b.mailbox<Uint8Array | string>('big')
    const other = box.receiveIf((value) => value === 'the one it waits for')
    const payload = new Uint8Array(MiB)
    const before = retainedBytes()
    const outcomes: string[] = []
    for (let i = 0; i < 300; i++) {
      payload[0] = i % 256
      outcomes.push(
        await peers.a.send(ID_B, 'big', payload).then(
          () => 'ok',
          (error: { code: string }) => error.code,
        ),
      )
    }
    const growth = retainedBytes() - before
    const accepted = outcomes.filter((outcome) => outcome === 'ok').length
    expect(accepted).toBe(15) // 16 MiB / (1 MiB + the request's few bytes of framing)
    expect(outcomes.slice(accepted)).toEqual(Array.from({ length: 300 - accepted }, () => 'MAILBOX_FULL'))
    expect(growth).toBeLessThan(MAILBOX_DEFAULTS.maxQueuedBytes + SLACK_BYTES)
    console.info(`mailbox attack: ${accepted} accepted, memory growth ${(growth / MiB).toFixed(1)} MiB`)
    for (let i = 0; i < accepted; i++) expect(((await box.receive()).value as Uint8Array)[0]).toBe(i)
    await peers.a.send(ID_B, 'big', 'the one it waits for')
    expect((await other).from).toBe(ID_A)
  })
})
