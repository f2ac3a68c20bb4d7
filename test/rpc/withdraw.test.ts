/**
 * Withdrawable remote functions and exposed objects, and closable remote-object proxies (issue 15
 * §3, remoc's RFnProvider / rtc client `closed()`), over the memory pair; a hostile peer forging a
 * withdrawal or calling a withdrawn function keeps getting refusals with a code.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { rfn, type RemoteFunction } from '../../src/rpc/remote-function.js'
import { ID_A, ID_B, delay, disposeChecked, messagingPair, type MessagingPair } from './helpers.js'

let carried = 0
async function carry<T>(peers: MessagingPair, value: T): Promise<T> {
  const name = `take-${carried++}`
  const arrived = peers.b.mailbox<T>(name)
  await peers.a.send(ID_B, name, value)
  const envelope = await arrived.receive()
  arrived.close()
  return envelope.value
}

describe('withdrawing a remote function', () => {
  let peers: MessagingPair
  afterEach(() => disposeChecked(peers))

  it('later calls fail with WITHDRAWN, every proxy is closed, sending it again fails', async () => {
    peers = await messagingPair()
    const provider = rfn.provide((x: number) => x * 2)
    const first = (await carry(peers, { f: provider.fn })).f as unknown as RemoteFunction<(x: number) => number>
    const second = (await carry(peers, { f: provider.fn })).f as unknown as RemoteFunction<(x: number) => number>
    expect(await first(21)).toBe(42)
    expect(first.isClosed).toBe(false)
    expect(provider.isWithdrawn).toBe(false)
    provider.withdraw()
    expect(provider.isWithdrawn).toBe(true)
    await Promise.all([first.closed(), second.closed()])
    expect(first.isClosed && second.isClosed).toBe(true)
    await expect(first(1)).rejects.toMatchObject({ code: 'WITHDRAWN' })
    await expect(second(1)).rejects.toMatchObject({ code: 'WITHDRAWN' })
    await expect(carry(peers, { f: provider.fn })).rejects.toMatchObject({ code: 'WITHDRAWN' })
    expect(provider.fn(4)).toBe(8) // still callable here
    first[Symbol.dispose]()
    second[Symbol.dispose]()
  })

  it('a call on its way when the provider withdraws is refused with WITHDRAWN; one running finishes', async () => {
    peers = await messagingPair()
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const provider = rfn.provide(async (x: number) => {
      await gate
      return x + 1
    })
    const { f } = await carry(peers, { f: provider.fn })
    const running = f(1)
    await delay(20)
    // Withdraw and call in the same turn: the proxy has not heard yet, the provider refuses.
    provider.withdraw()
    const late = f(2)
    release()
    expect(await running).toBe(2)
    await expect(late).rejects.toMatchObject({ code: 'WITHDRAWN' })
    ;(f as unknown as Disposable)[Symbol.dispose]()
  })

  it('a plain function (no provider) is never closed by its provider; its peer going away closes it', async () => {
    peers = await messagingPair()
    const { f } = (await carry(peers, { f: (x: number) => -x })) as unknown as { f: RemoteFunction<(x: number) => number> }
    await delay(20)
    expect(f.isClosed).toBe(false)
    expect(await f(3)).toBe(-3)
    peers.pair.sever()
    await f.closed()
    expect(f.isClosed).toBe(true)
  })

  it('`using` the provider withdraws at the end of the scope', async () => {
    peers = await messagingPair()
    let proxy!: RemoteFunction<() => string>
    {
      using provider = rfn.provide(() => 'hi')
      proxy = (await carry(peers, { f: provider.fn })).f as unknown as RemoteFunction<() => string>
      expect(await proxy()).toBe('hi')
    }
    await proxy.closed()
    await expect(proxy()).rejects.toMatchObject({ code: 'WITHDRAWN' })
    proxy[Symbol.dispose]()
  })
})

describe('withdrawing an exposed object', () => {
  let peers: MessagingPair
  afterEach(() => disposeChecked(peers))

  it('calls fail with WITHDRAWN, the proxy that learns it is closed and fails at once after', async () => {
    peers = await messagingPair()
    const provider = peers.a.expose('calc', { add: (a: number, b: number) => a + b })
    const calc = peers.b.remote<{ add(a: number, b: number): number }>(ID_A, 'calc')
    expect(await calc.add(1, 2)).toBe(3)
    expect(calc.isClosed).toBe(false)
    provider.withdraw()
    expect(provider.isWithdrawn).toBe(true)
    await expect(calc.add(1, 2)).rejects.toMatchObject({ code: 'WITHDRAWN' })
    await calc.closed()
    expect(calc.isClosed).toBe(true)
    await expect(calc.add(1, 2)).rejects.toMatchObject({ code: 'WITHDRAWN' })
    // A name never exposed is still UNKNOWN_MAILBOX; exposing the name again serves new proxies.
    await expect(peers.b.remote<{ add(): number }>(ID_A, 'other').add()).rejects.toMatchObject({ code: 'UNKNOWN_MAILBOX' })
    const again = peers.a.expose('calc', { add: (a: number, b: number) => a * b })
    expect(await peers.b.remote<{ add(a: number, b: number): number }>(ID_A, 'calc').add(3, 4)).toBe(12)
    again()
  })

  it('the returned handle is still a function that withdraws (as before), and works locally too', async () => {
    peers = await messagingPair()
    const withdraw = peers.a.expose('echo', { echo: (x: string) => x })
    const local = peers.a.remote<{ echo(x: string): string }>(ID_A, 'echo')
    expect(await local.echo('x')).toBe('x')
    withdraw()
    await expect(local.echo('x')).rejects.toMatchObject({ code: 'WITHDRAWN' })
    expect(local.isClosed).toBe(true)
  })

  it('`using` the handle withdraws at the end of the scope', async () => {
    peers = await messagingPair()
    const calc = peers.b.remote<{ one(): number }>(ID_A, 'scoped')
    {
      using handle = peers.a.expose('scoped', { one: () => 1 })
      expect(await calc.one()).toBe(1)
      expect(handle.isWithdrawn).toBe(false)
    }
    await expect(calc.one()).rejects.toMatchObject({ code: 'WITHDRAWN' })
    expect(calc.isClosed).toBe(true)
  })

  it('a proxy is closed when its peer leaves', async () => {
    peers = await messagingPair()
    peers.a.expose('calc', { add: (a: number, b: number) => a + b })
    const calc = peers.b.remote<{ add(a: number, b: number): number }>(ID_A, 'calc')
    peers.b.peerLeft(ID_A)
    await calc.closed()
    await expect(calc.add(1, 2)).rejects.toMatchObject({ code: 'PEER_GONE' })
  })
})

describe('hostile: a peer calling or forging around withdrawals', () => {
  let peers: MessagingPair
  afterEach(() => disposeChecked(peers))

  it('a provider that withdraws then is called in a loop refuses every call with a code and stays up', async () => {
    peers = await messagingPair()
    const provider = rfn.provide(() => 1)
    const { f } = await carry(peers, { f: provider.fn })
    provider.withdraw()
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => f()))
    for (const result of results) expect(result).toMatchObject({ status: 'rejected', reason: { code: 'WITHDRAWN' } })
    ;(f as unknown as Disposable)[Symbol.dispose]()
  })
})
