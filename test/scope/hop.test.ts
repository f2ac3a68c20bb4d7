import { afterEach, describe, expect, it } from 'vitest'
import * as mpsc from '../../src/channels/mpsc.js'
import { defineHop, hop, HopError } from '../../src/scope/index.js'
import { delay, memoryMesh, until, type TestMesh } from './helpers.js'

// Blocks are registered at module level, as the build plugin does: every peer knows them.
const whereAmI = defineHop('test/hop:where', (_: object, here) => ({ id: here.id, caller: here.caller, path: here.path }))
const addOne = defineHop('test/hop:add-one', ({ n }: { n: number }) => n + 1)
const returnsNull = defineHop('test/hop:null', () => null)

// The seed's three-step demo: on the server a = 42; on the client an array of a + 1 copies of 42;
// back on the server [thatArray, a + 2].
const backOnServer = defineHop('test/hop:three-3', ({ thatArray, a }: { thatArray: number[]; a: number }) => [thatArray, a + 2])
const onClient = defineHop('test/hop:three-2', ({ a }: { a: number }, here) => {
  const thatArray = Array.from({ length: a + 1 }, () => 42)
  return hop(here.peer(here.caller), { thatArray, a }, backOnServer)
})
const onServer = defineHop('test/hop:three-1', (_: object, here) => {
  const a = 42
  return hop(here.peer(here.caller), { a }, onClient)
})

// A chain A → B → C → A that reports the path at the end.
const chainEnd = defineHop('test/hop:chain-end', (_: object, here) => here.path)
const chainMiddle = defineHop('test/hop:chain-middle', ({ back }: { back: string }, here) => hop(here.peer(back), {}, chainEnd))
const chainStart = defineHop('test/hop:chain-start', ({ next, back }: { next: string; back: string }, here) => hop(here.peer(next), { back }, chainMiddle))

const failsDeep = defineHop('test/hop:fails-deep', () => {
  throw new RangeError('out of range at the far end')
})
const callsFailsDeep = defineHop('test/hop:calls-fails-deep', ({ next }: { next: string }, here) => hop(here.peer(next), {}, failsDeep))

const waitsForAbort: string[] = []
const waitsForever = defineHop('test/hop:waits', (_: object, here) => {
  return new Promise((_, reject) =>
    here.signal.addEventListener('abort', () => {
      waitsForAbort.push(here.id)
      reject(new Error('aborted'))
    }),
  )
})
const forwardsToWaiter = defineHop('test/hop:forwards-to-waiter', ({ next }: { next: string }, here) => {
  here.signal.addEventListener('abort', () => waitsForAbort.push(here.id))
  return hop(here.peer(next), {}, waitsForever)
})

const onlyFromA = defineHop('test/hop:only-from-a', () => 'ok', { allow: (caller) => caller === 'a'.repeat(32) })
const noPolicyOfItsOwn = defineHop('test/hop:no-policy', () => 'ran')
const pathSeen = defineHop('test/hop:path-seen', (_: object, here) => ({ caller: here.caller, path: here.path, unverified: here.unverifiedPath }))

const streams = defineHop('test/hop:streams', async ({ upTo, tx }: { upTo: number; tx: mpsc.Sender<number> }) => {
  for (let i = 1; i <= upTo; i++) await tx.send(i)
  tx.close()
  return 'done'
})

describe('scope hops over memory links', () => {
  let mesh: TestMesh
  afterEach(async () => mesh?.dispose())

  it('runs a block on another peer with the captured values and brings the result back', async () => {
    mesh = await memoryMesh(2)
    const [a, b] = mesh.peers
    expect(await hop(a!.peer(b!.id), { n: 41 }, addOne)).toBe(42)
    expect(await hop(a!.peer(b!.id), {}, whereAmI)).toEqual({ id: b!.id, caller: a!.id, path: [a!.id, b!.id] })
    expect(await hop(a!.peer(b!.id), {}, returnsNull)).toBeNull()
  })

  it("the seed's three-step demo gives [43 × 42, 44]", async () => {
    mesh = await memoryMesh(2)
    const [client, server] = mesh.peers
    const [array, b] = (await hop(client!.peer(server!.id), {}, onServer)) as [number[], number]
    expect(array).toEqual(Array.from({ length: 43 }, () => 42))
    expect(b).toBe(44)
  })

  it('nested hops A → B → C → A carry the path, and results travel back along the chain', async () => {
    mesh = await memoryMesh(3)
    const [a, b, c] = mesh.peers
    expect(await hop(a!.peer(b!.id), { next: c!.id, back: a!.id }, chainStart)).toEqual([a!.id, b!.id, c!.id, a!.id])
  })

  it('a hop to the local peer runs locally, without the network', async () => {
    mesh = await memoryMesh(2)
    const [a] = mesh.peers
    expect(await hop(a!.peer(a!.id), {}, whereAmI)).toEqual({ id: a!.id, caller: a!.id, path: [a!.id, a!.id] })
    const [tx, rx] = mpsc.channel<number>()
    expect(await hop(a!.peer(a!.id), { upTo: 3, tx }, streams)).toBe('done')
    const got: number[] = []
    for await (const n of rx) got.push(n)
    expect(got).toEqual([1, 2, 3])
  })

  it('a throw down the chain rejects the first caller with a HopError naming the peer and the path', async () => {
    mesh = await memoryMesh(3)
    const [a, b, c] = mesh.peers
    const error = (await hop(a!.peer(b!.id), { next: c!.id }, callsFailsDeep).catch((caught: unknown) => caught)) as HopError
    expect(error).toBeInstanceOf(HopError)
    expect(error.code).toBe('HOP_FAILED')
    expect(error.peer).toBe(c!.id)
    expect(error.path).toEqual([a!.id, b!.id, c!.id])
    expect(error.remote).toBeInstanceOf(RangeError)
    expect(error.message).toContain('out of range at the far end')
    expect(error.message).toContain(`${a!.id} → ${b!.id} → ${c!.id}`)
  })

  it('aborting the caller or a timeout aborts here.signal on every peer down the chain', async () => {
    mesh = await memoryMesh(3)
    const [a, b, c] = mesh.peers
    waitsForAbort.length = 0
    const controller = new AbortController()
    const pending = hop(a!.peer(b!.id), { next: c!.id }, forwardsToWaiter, { signal: controller.signal })
    await delay(30)
    controller.abort()
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' })
    await until('both peers down the chain to abort', () => waitsForAbort.includes(b!.id) && waitsForAbort.includes(c!.id))

    waitsForAbort.length = 0
    await expect(hop(a!.peer(b!.id), { next: c!.id }, forwardsToWaiter, { timeout: 40 })).rejects.toMatchObject({ code: 'TIMEOUT' })
    await until('both peers down the chain to abort', () => waitsForAbort.includes(b!.id) && waitsForAbort.includes(c!.id))
  })

  it('the caller leaving aborts here.signal down the chain', async () => {
    mesh = await memoryMesh(3)
    const [a, b, c] = mesh.peers
    waitsForAbort.length = 0
    const pending = hop(a!.peer(b!.id), { next: c!.id }, forwardsToWaiter)
    await delay(30)
    mesh.kill(a!)
    await expect(pending).rejects.toMatchObject({ code: 'PEER_GONE' })
    await until('B and C to abort', () => waitsForAbort.includes(b!.id) && waitsForAbort.includes(c!.id))
  })

  it('an unknown block id is refused with a clear error; a block refuses callers its allow predicate rejects', async () => {
    mesh = await memoryMesh(3)
    const [a, b, c] = mesh.peers
    // All peers of this test share one process (one registry), so a peer on another build is
    // simulated by asking for an id nobody registered, as such a peer would.
    const reply = (await a!.messaging.call(b!.id, '__meshscope.hop', { b: 'src/other-build.ts:1:1#deadbeefdeadbeef', c: {}, p: [a!.id] })) as [
      number,
      { code: string; message: string; peer: string },
    ]
    expect(reply[0]).toBe(1)
    expect(reply[1]).toMatchObject({ code: 'UNKNOWN_HOP', peer: b!.id })
    expect(reply[1].message).toContain('"src/other-build.ts:1:1#deadbeefdeadbeef"')
    expect(reply[1].message).toContain('different build')

    expect(await hop(a!.peer(b!.id), {}, onlyFromA)).toBe('ok')
    await expect(hop(c!.peer(b!.id), {}, onlyFromA)).rejects.toMatchObject({ code: 'HOP_REFUSED', peer: b!.id })
  })

  it('the mesh-wide hopPolicy decides for blocks without an allow of their own; a throw is a refusal', async () => {
    const A = 'a'.repeat(32)
    mesh = await memoryMesh(3, {
      hopPolicy: (caller, blockId) => {
        if (caller === 'b'.repeat(32)) throw new Error('policy failure')
        return caller === A && blockId === 'test/hop:no-policy'
      },
    })
    const [a, b, c] = mesh.peers
    expect(await hop(a!.peer(c!.id), {}, noPolicyOfItsOwn)).toBe('ran')
    await expect(hop(b!.peer(c!.id), {}, noPolicyOfItsOwn)).rejects.toMatchObject({ code: 'HOP_REFUSED', peer: c!.id }) // threw
    await expect(hop(a!.peer(c!.id), {}, whereAmI)).rejects.toMatchObject({ code: 'HOP_REFUSED' }) // another block
    // A block's own allow overrides the policy: onlyFromA lets A in, and only A.
    expect(await hop(a!.peer(b!.id), {}, onlyFromA)).toBe('ok')
    await expect(hop(c!.peer(b!.id), {}, onlyFromA)).rejects.toMatchObject({ code: 'HOP_REFUSED' })
  })

  it('the path before the verified caller is marked unverified: a caller cannot make itself look like the end of a chain it never had', async () => {
    mesh = await memoryMesh(3)
    const [a, b, c] = mesh.peers
    // An honest chain A → B → C (B's block hops on): at C the caller B is verified, A is B's word.
    const hopsOn = defineHop('test/hop:hops-on', ({ next }: { next: string }, here) => hop(here.peer(next), {}, pathSeen))
    expect(await hop(a!.peer(b!.id), { next: c!.id }, hopsOn)).toEqual({ caller: b!.id, path: [a!.id, b!.id, c!.id], unverified: [a!.id] })
    // A forged path from C: it claims the chain started at A.
    const forged = (await c!.messaging.call(b!.id, '__meshscope.hop', { b: 'test/hop:path-seen', c: {}, p: [a!.id, c!.id] })) as [number, unknown]
    expect(forged).toEqual([0, { caller: c!.id, path: [a!.id, c!.id, b!.id], unverified: [a!.id] }])
  })

  it('captures carry channel halves: a hop streams results back while it runs', async () => {
    mesh = await memoryMesh(2)
    const [a, b] = mesh.peers
    const [tx, rx] = mpsc.channel<number>()
    const running = hop(a!.peer(b!.id), { upTo: 100, tx }, streams)
    const got: number[] = []
    for await (const n of rx) got.push(n)
    expect(await running).toBe('done')
    expect(got).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
  })

  it('refuses an inline body without the build plugin, with a code that says so', async () => {
    mesh = await memoryMesh(2)
    const [a, b] = mesh.peers
    await expect(hop(a!.peer(b!.id), { x: 1 }, ({ x }) => x)).rejects.toMatchObject({ code: 'HOP_NEEDS_PLUGIN' })
  })
})
