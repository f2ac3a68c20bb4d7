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

  it('a transport that starts empty is not asked for its buffer until the bound reaches the mark, which still holds', async () => {
    let buffered = 0
    let reads = 0
    let drains = 0
    const fake: SendTarget = {
      isWritable: () => true,
      bufferedAmount: () => {
        reads++
        return buffered
      },
      startsEmpty: true,
      write: (data) => void (buffered += data.byteLength),
      waitForDrain: (wake) => {
        drains++
        setTimeout(() => {
          buffered = 0
          wake()
        }, 1)
      },
    }
    const queue = new SendQueue(fake, 100)
    await queue.push(new Uint8Array(40))
    await queue.push(new Uint8Array(40))
    expect(reads).toBe(0)
    // 80 + 40 reaches the mark: the real value is read (80, under it), the write goes out; the next
    // finds 120 buffered and waits for the drain before writing.
    await Promise.all([queue.push(new Uint8Array(40)), queue.push(new Uint8Array(40))])
    expect(reads).toBeGreaterThan(0)
    expect(drains).toBe(1)
    expect(buffered).toBe(40)
  })
})
