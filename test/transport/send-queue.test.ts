/**
 * SendQueue (src/transport/send-queue.ts): an open transport that refuses a message is backpressure —
 * the message is tried again, in order — until it has refused for `refusalLimitMs`; a closed one fails it.
 */
import { describe, expect, it } from 'vitest'
import { SendQueue, type SendTarget } from '../../src/transport/send-queue.js'

function target(options: { refusals: number; writable?: () => boolean }) {
  const written: number[] = []
  let refusals = options.refusals
  const fake: SendTarget = {
    isWritable: options.writable ?? (() => true),
    bufferedAmount: () => 0,
    write: (data) => {
      if (refusals > 0) {
        refusals--
        throw new Error('send queue is full')
      }
      written.push(data[0]!)
    },
    waitForDrain: (wake) => void setTimeout(wake, 1),
  }
  return { fake, written }
}

describe('SendQueue', () => {
  it('an open transport refusing messages for a while delays them, in order, and loses none', async () => {
    const { fake, written } = target({ refusals: 3 })
    const queue = new SendQueue(fake, 1024)
    await Promise.all([queue.push(Uint8Array.of(1)), queue.push(Uint8Array.of(2)), queue.push(Uint8Array.of(3))])
    expect(written).toEqual([1, 2, 3])
  })

  it('a transport that keeps refusing past the limit fails that message with LINK_FAILED', async () => {
    const { fake } = target({ refusals: Infinity })
    const queue = new SendQueue(fake, 1024, 50)
    await expect(queue.push(Uint8Array.of(1))).rejects.toMatchObject({ code: 'LINK_FAILED' })
  })

  it('a transport that refuses because it closed fails the message at once', async () => {
    let open = true
    const fake: SendTarget = {
      isWritable: () => open,
      bufferedAmount: () => 0,
      write: () => {
        open = false // the channel closed under the send
        throw new Error('channel closed')
      },
      waitForDrain: (wake) => void setTimeout(wake, 1),
    }
    const queue = new SendQueue(fake, 1024)
    const started = Date.now()
    await expect(queue.push(Uint8Array.of(1))).rejects.toMatchObject({ code: 'LINK_FAILED' })
    expect(Date.now() - started).toBeLessThan(1000)
  })
})
