/**
 * Factor's linked processes (issue 15 §3): a task or a mailbox loop spawned linked to a parent
 * sends its uncaught error there, and the parent's next receive throws it; a loop that calls its
 * own mailbox fails with SELF_CALL instead of waiting for itself. Over the memory pair, with the
 * other peer sending to the child (its messages are what make the child fail).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { LinkedError, type Mailbox } from '../../src/services/mailboxes.js'
import { ID_A, delay, disposeChecked, messagingPair, until, type MessagingPair } from './helpers.js'

describe('linked tasks (spawnLinked)', () => {
  let peers: MessagingPair
  afterEach(() => disposeChecked(peers))

  it("a task's uncaught error makes the parent's next receive throw it; messages then go on", async () => {
    peers = await messagingPair()
    const parent = peers.a.mailbox<string>('parent')
    const boom = new Error('boom')
    const result = await parent.spawnLinked(async () => {
      await delay(1)
      throw boom
    })
    expect(result).toBeUndefined()
    await peers.b.send(ID_A, 'parent', 'after')
    const error = await parent.receive().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(LinkedError)
    expect(error).toMatchObject({ code: 'LINKED_ERROR', child: undefined, cause: boom })
    expect((await parent.receive()).value).toBe('after') // thrown once; the queue is intact
    parent.close()
  })

  it('a receive already waiting is woken with the error; a task that succeeds says nothing', async () => {
    peers = await messagingPair()
    const parent = peers.a.mailbox('parent')
    const waiting = parent.receive()
    expect(await parent.spawnLinked(() => 42)).toBe(42)
    void parent.spawnLinked(() => {
      throw new Error('sync throw')
    })
    await expect(waiting).rejects.toMatchObject({ code: 'LINKED_ERROR', cause: { message: 'sync throw' } })
    parent.close()
  })

  it("closing the parent aborts its linked tasks' signals", async () => {
    peers = await messagingPair()
    const parent = peers.a.mailbox('parent')
    let seen: AbortSignal | undefined
    const running = parent.spawnLinked((signal) => {
      seen = signal
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
    })
    parent.close()
    expect(await running).toBeUndefined()
    expect(seen?.aborted).toBe(true)
  })
})

describe('linked mailboxes (spawn with linkedTo)', () => {
  let peers: MessagingPair
  afterEach(() => disposeChecked(peers))

  it("a peer's message makes the child's loop throw: the parent's for-await ends with the LinkedError, the child is closed", async () => {
    peers = await messagingPair()
    const parent = peers.a.mailbox<string>('parent')
    const handled: number[] = []
    peers.a.spawn<number>(
      'child',
      async (self) => {
        for await (const { value } of self) {
          if (value < 0) throw new RangeError(`negative: ${value}`)
          handled.push(value)
        }
      },
      { linkedTo: parent as Mailbox<unknown> },
    )
    await peers.b.send(ID_A, 'child', 1)
    await peers.b.send(ID_A, 'child', -1)
    const error = await (async () => {
      for await (const _ of parent) {
        // nothing is sent to the parent itself
      }
    })().catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(LinkedError)
    expect(error).toMatchObject({ code: 'LINKED_ERROR', child: 'child', cause: { name: 'RangeError' } })
    expect(handled).toEqual([1])
    await until('the child is closed', () => peers.a.mailboxes.get('child') === undefined)
    await expect(peers.b.send(ID_A, 'child', 2)).rejects.toMatchObject({ code: 'UNKNOWN_MAILBOX' })
    parent.close()
  })

  it('an unlinked loop that throws is reported as HANDLER_FAILED', async () => {
    peers = await messagingPair()
    peers.a.spawn('lonely', () => {
      throw new Error('alone')
    })
    await until('reported', () => peers.reportedAtA.some((error) => error.code === 'HANDLER_FAILED'))
  })

  it('a loop calling its own mailbox fails with SELF_CALL (after awaits too) instead of deadlocking; others may call it', async () => {
    peers = await messagingPair()
    const outcome: string[] = []
    const echo = peers.a.spawn<string>('echo', async (self) => {
      for await (const envelope of self) {
        if (envelope.value === 'recurse') {
          await delay(1)
          try {
            await peers.a.call(ID_A, 'echo', 'inner', { timeout: 5_000 })
            outcome.push('replied')
          } catch (error) {
            outcome.push((error as { code: string }).code)
          }
          try {
            await peers.a.ref('echo').call('inner')
          } catch (error) {
            outcome.push((error as { code: string }).code)
          }
        }
        if (envelope.isCall) envelope.reply(`echo ${envelope.value}`)
      }
    })
    expect(await peers.b.call(ID_A, 'echo', 'recurse')).toBe('echo recurse')
    expect(outcome).toEqual(['SELF_CALL', 'SELF_CALL'])
    // Code outside the loop on the same peer, and the other peer, call it as usual.
    expect(await peers.a.call(ID_A, 'echo', 'local')).toBe('echo local')
    expect(await peers.b.call(ID_A, 'echo', 'remote')).toBe('echo remote')
    echo.close() // ends its loop
  })
})
