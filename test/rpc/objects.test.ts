import { afterEach, describe, expect, expectTypeOf, it } from 'vitest'
import type { Remote } from '../../src/rpc/remote-object.js'
import type { CallContext } from '../../src/rpc/serve.js'
import { ID_A, ID_B, delay, messagingPair, until, type MessagingPair, disposeChecked } from './helpers.js'

interface Calculator {
  add(a: number, b: number): number
  slowSquare(n: number, context: CallContext): Promise<number>
  whoAmI(context: CallContext): string
  fail(): never
  version: string
}

function calculator(log: string[]): Calculator {
  return {
    version: '1.0',
    add: (a, b) => a + b,
    async slowSquare(n, { signal }) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, 1000)
        signal.addEventListener('abort', () => {
          clearTimeout(timer)
          log.push(`aborted ${n}`)
          reject(new Error('aborted'))
        })
      })
      return n * n
    },
    whoAmI: (context) => context.from,
    fail() {
      throw new Error('nope')
    },
  }
}

describe('remote objects', () => {
  let peers: MessagingPair
  afterEach(() => disposeChecked(peers))

  it('expose and remote: methods return promises of their results; the context is filled in', async () => {
    peers = await messagingPair()
    peers.b.expose('calc', calculator([]))
    const calc = peers.a.remote<Calculator>(ID_B, 'calc')
    expect(await calc.add(2, 3)).toBe(5)
    expect(await calc.whoAmI()).toBe(ID_A)
    await expect(calc.fail()).rejects.toMatchObject({ code: 'REMOTE_ERROR', message: 'nope', peerId: ID_B })
  })

  it('an unknown method fails that call with UNKNOWN_METHOD and the object keeps serving', async () => {
    peers = await messagingPair()
    peers.b.expose('calc', calculator([]))
    const calc = peers.a.remote<Calculator & { missing(): void; toString(): string }>(ID_B, 'calc')
    await expect(calc.missing()).rejects.toMatchObject({ code: 'UNKNOWN_METHOD' })
    await expect(calc.toString()).rejects.toMatchObject({ code: 'UNKNOWN_METHOD' })
    expect(await calc.add(1, 1)).toBe(2)
    await expect(peers.a.remote<Calculator>(ID_B, 'nothing').add(1, 2)).rejects.toMatchObject({ code: 'UNKNOWN_MAILBOX' })
  })

  it('a slow call is cancelled with an AbortSignal, and the method sees its signal abort', async () => {
    peers = await messagingPair()
    const log: string[] = []
    peers.b.expose('calc', calculator(log))
    const controller = new AbortController()
    const calc = peers.a.remote<Calculator>(ID_B, 'calc', { signal: controller.signal })
    const slow = calc.slowSquare(7)
    await delay(20)
    controller.abort()
    await expect(slow).rejects.toMatchObject({ code: 'ABORTED' })
    await until('the method to see the abort', () => log.includes('aborted 7'))
  })

  it('is not a thenable, and a call to the local peer runs locally', async () => {
    peers = await messagingPair()
    peers.a.expose('calc', calculator([]))
    const calc = await Promise.resolve(peers.a.remote<Calculator>(ID_A, 'calc'))
    expect(await calc.add(40, 2)).toBe(42)
    expect(await calc.whoAmI()).toBe(ID_A)
  })

  it('types: methods return promises, a trailing CallContext is hidden, other properties are absent', () => {
    type R = Remote<Calculator>
    expectTypeOf<R['add']>().toEqualTypeOf<(a: number, b: number) => Promise<number>>()
    expectTypeOf<R['slowSquare']>().toEqualTypeOf<(n: number) => Promise<number>>()
    expectTypeOf<R['whoAmI']>().toEqualTypeOf<() => Promise<string>>()
    expectTypeOf<R>().not.toHaveProperty('version')
    // @ts-expect-error a remote method takes the same arguments as the original
    const wrong: Parameters<R['add']> = ['1', 2]
    void wrong
  })
})
