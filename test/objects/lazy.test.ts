import { afterEach, describe, expect, it } from 'vitest'
import { mpsc } from '../../src/channels/index.js'
import { lazy } from '../../src/objects/lazy.js'
import { objectCount } from '../../src/objects/limits.js'
import { delay, peers, until, type Peers } from './helpers.js'

describe('lazy values', () => {
  let net: Peers | undefined
  afterEach(async () => {
    await net?.dispose()
    net = undefined
  })

  it('is fetched on the first get(), once: concurrent and later get()s share one round trip', async () => {
    net = await peers(2)
    let produced = 0
    const value = lazy(async () => {
      produced++
      await delay(5)
      return { rows: [1, 2, 3] }
    })
    const atB = await net.carry(0, 1, { value })
    await delay(20)
    expect(produced).toBe(0) // nothing crossed yet
    const [first, second] = await Promise.all([atB.value.get(), atB.value.get()])
    expect(first).toEqual({ rows: [1, 2, 3] })
    expect(second).toBe(first)
    expect(await atB.value.get()).toBe(first)
    expect(produced).toBe(1)
    atB.value.close()
    value.close()
    await until('the lazy stream is over', () => objectCount(net!.connection(0, 1)) === 0)
  })

  it('a plain value works too, and can carry a channel half', async () => {
    net = await peers(2)
    const [tx, rx] = mpsc.channel<string>()
    const atB = await net.carry(0, 1, lazy({ greeting: 'hi', tx }))
    const got = await atB.get()
    expect(got.greeting).toBe('hi')
    await got.tx.send('through the lazy value')
    expect(await rx.recv()).toBe('through the lazy value')
    got.tx.close()
    rx.close()
    atB.close()
  })

  it('forwards to a third peer, which fetches through the middle one', async () => {
    net = await peers(3)
    let produced = 0
    const atB = await net.carry(
      0,
      1,
      lazy(() => ++produced),
    )
    const atC = await net.carry(1, 2, atB)
    atB.close() // B no longer wants it; C's copy keeps B's upstream
    expect(await atC.get()).toBe(1)
    expect(await atC.get()).toBe(1)
    expect(produced).toBe(1)
    atC.close()
  })

  it("a factory's failure reaches the receiver", async () => {
    net = await peers(2)
    const atB = await net.carry(
      0,
      1,
      lazy(() => {
        throw new Error('no rows today')
      }),
    )
    await expect(atB.get()).rejects.toThrow(/no rows today/)
    atB.close()
  })

  it('get() settles with OBJECT_GONE when the provider goes away first', async () => {
    net = await peers(2)
    const atB = await net.carry(
      0,
      1,
      lazy(() => new Promise<number>(() => {})),
    )
    const settled = expect(atB.get()).rejects.toMatchObject({ code: 'OBJECT_GONE' })
    await delay(10)
    await net.cut(0, 1)
    await settled
  })

  it('a closed lazy value refuses get()', async () => {
    const value = lazy(1)
    value.close()
    await expect(value.get()).rejects.toMatchObject({ code: 'OBJECT_GONE' })
  })
})
