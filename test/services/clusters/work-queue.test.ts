/** The member's bounded work queue: concurrency, memory allowance (exactly at it, and one past), deadlines, close. */
import { describe, expect, test } from 'vitest'
import { WorkQueue } from '../../../src/services/clusters/work-queue.js'
import { delay } from '../../until.js'

const sleeping = (ms: number, log?: string[], name?: string) => async () => {
  if (name) log?.push(name)
  await delay(ms)
  return name
}

describe('WorkQueue', () => {
  test('runs at most requestConcurrency handlers at once; four 25 ms jobs at concurrency 1: two done after about 62 ms', async () => {
    const queue = new WorkQueue({ requestConcurrency: 1, requestMemory: 1_000 })
    let done = 0
    const jobs = [0, 1, 2, 3].map(() => queue.offer({ bytes: 1, deadline: Number.POSITIVE_INFINITY, run: sleeping(25) }).then(() => done++))
    expect(queue.stats()).toMatchObject({ running: 1, queued: 3, heldBytes: 4 })
    expect(queue.spare).toBe(-3)
    await delay(62)
    expect(done).toBe(2)
    await Promise.all(jobs)
    expect(queue.stats()).toMatchObject({ running: 0, queued: 0, heldBytes: 0, completed: 4 })
  })

  test('holds exactly requestMemory bytes and refuses one more at once with SERVICE_OVERLOADED', async () => {
    const queue = new WorkQueue({ requestConcurrency: 1, requestMemory: 1 })
    await expect(queue.offer({ bytes: 1, deadline: Number.POSITIVE_INFINITY, run: () => 'one' })).resolves.toBe('one')
    expect(() => queue.offer({ bytes: 2, deadline: Number.POSITIVE_INFINITY, run: () => 'two' })).toThrow(
      expect.objectContaining({ code: 'SERVICE_OVERLOADED' }),
    )
    await expect(queue.offer({ bytes: 1, deadline: Number.POSITIVE_INFINITY, run: () => 'again' })).resolves.toBe('again')
    expect(queue.stats().overMemory).toBe(1)
  })

  test('drops, never runs, work whose deadline passed while it waited', async () => {
    const queue = new WorkQueue({ requestConcurrency: 1, requestMemory: 1_000 })
    const ran: string[] = []
    const deadline = Date.now() + 1
    const results = await Promise.allSettled(['a', 'b', 'c', 'd'].map((name) => queue.offer({ bytes: 1, deadline, run: sleeping(10, ran, name) })))
    expect(ran).toEqual(['a'])
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected'])
    expect(results[1]).toMatchObject({ reason: { code: 'TIMEOUT' } })
    expect(queue.stats()).toMatchObject({ expired: 3, heldBytes: 0 })
  })

  test('a caller that gives up takes its queued work out unrun and aborts its running handler', async () => {
    const queue = new WorkQueue({ requestConcurrency: 1, requestMemory: 1_000 })
    const first = new AbortController()
    const second = new AbortController()
    let runningSignal: AbortSignal | undefined
    const running = queue.offer({
      bytes: 1,
      deadline: Number.POSITIVE_INFINITY,
      signal: first.signal,
      run: (abort) => {
        runningSignal = abort.signal
        return delay(20)
      },
    })
    const queued = queue.offer({ bytes: 1, deadline: Number.POSITIVE_INFINITY, signal: second.signal, run: () => 'never' })
    second.abort()
    await expect(queued).rejects.toMatchObject({ code: 'ABORTED' })
    first.abort()
    expect(runningSignal?.aborted).toBe(true)
    await running
    expect(queue.stats()).toMatchObject({ heldBytes: 0, queued: 0 })
  })

  test('close settles queued and running work with its error and refuses new work', async () => {
    const queue = new WorkQueue({ requestConcurrency: 1, requestMemory: 1_000 })
    const running = queue.offer({ bytes: 1, deadline: Number.POSITIVE_INFINITY, run: () => delay(50) })
    const queued = queue.offer({ bytes: 1, deadline: Number.POSITIVE_INFINITY, run: () => 'never' })
    const { MeshscopeError } = await import('../../../src/errors.js')
    queue.close(new MeshscopeError('SERVICE_CLOSED', 'closed'))
    await expect(running).rejects.toMatchObject({ code: 'SERVICE_CLOSED' })
    await expect(queued).rejects.toMatchObject({ code: 'SERVICE_CLOSED' })
    expect(() => queue.offer({ bytes: 1, deadline: Number.POSITIVE_INFINITY, run: () => 1 })).toThrow(expect.objectContaining({ code: 'SERVICE_CLOSED' }))
    expect(queue.stats().heldBytes).toBe(0)
  })
})
