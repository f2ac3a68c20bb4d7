/**
 * Type-level tests of the public API, with `@ts-expect-error` for what must not compile. Checked by
 * `npm run typecheck` (tsconfig.json includes test/); never run — vitest collects only *.test.ts,
 * and the values here are declared, not made. An `@ts-expect-error` whose line compiles fails the
 * typecheck, so a negative that stops being refused is caught too.
 */
import { expectTypeOf } from 'vitest'
import {
  defineHop,
  hop,
  mpsc,
  type CallContext,
  type GossipMessageEvent,
  type Here,
  type HopBlock,
  type MeshscopeError,
  type Mesh,
  type PeerLeaveReason,
  type PeerRef,
  type Principal,
  type Remote,
  type Service,
  type SignalingState,
  type Subscription,
  type Tunnel,
} from '../../src/index.js'

declare const mesh: Mesh
declare const peer: PeerRef

// ── mpsc.channel<T>: the sender accepts T only, the receiver yields T ───────────────────────────

{
  const [tx, rx] = mpsc.channel<number>()
  expectTypeOf(tx.send).parameter(0).toEqualTypeOf<number>()
  expectTypeOf(rx.recv()).toEqualTypeOf<Promise<number | undefined>>()
  void tx.send(1)
  // @ts-expect-error a number channel takes no string
  void tx.send('1')
  // @ts-expect-error nor undefined (recv's `undefined` means closed, so it cannot be a value)
  void tx.send(undefined)
  async function drain(): Promise<void> {
    for await (const value of rx) expectTypeOf(value).toEqualTypeOf<number>()
  }
  void drain
  const [objects] = mpsc.channel<{ id: string }>()
  // @ts-expect-error a missing field is refused
  void objects.send({})
  // @ts-expect-error a field of the wrong type is refused
  void objects.send({ id: 1 })
}

// ── MeshEvents through mesh.on, once and off: listener arguments per event, unknown names refused ──────

{
  mesh.on('peer:join', (peerId) => expectTypeOf(peerId).toEqualTypeOf<string>())
  mesh.on('peer:leave', (peerId, reason) => {
    expectTypeOf(peerId).toEqualTypeOf<string>()
    expectTypeOf(reason).toEqualTypeOf<PeerLeaveReason>()
  })
  mesh.on('signaling', (state) => expectTypeOf(state).toEqualTypeOf<SignalingState>())
  mesh.on('error', (error) => expectTypeOf(error).toEqualTypeOf<MeshscopeError>())
  mesh.on('gossip', (message) => expectTypeOf(message).toEqualTypeOf<GossipMessageEvent>())
  expectTypeOf(mesh.on('peer:join', () => {})).toEqualTypeOf<() => void>()
  // @ts-expect-error no such event
  mesh.on('peer:joined', () => {})
  // @ts-expect-error a peer:join listener gets a string, not a number
  mesh.on('peer:join', (peerId: number) => void peerId)
  // @ts-expect-error peer:leave's reason is a PeerLeaveReason, not any string literal
  mesh.on('peer:leave', (_: string, reason: 'kicked') => void reason)
  const cancel = mesh.once('peer:leave', (peerId, reason) => {
    expectTypeOf(peerId).toEqualTypeOf<string>()
    expectTypeOf(reason).toEqualTypeOf<PeerLeaveReason>()
  })
  expectTypeOf(cancel).toEqualTypeOf<() => void>()
  // @ts-expect-error once checks listeners like on
  mesh.once('signaling', (state: number) => void state)
  const listener = (peerId: string) => void peerId
  mesh.off('peer:join', listener)
  // @ts-expect-error off takes the listener type of its event
  mesh.off('gossip', listener)
  // @ts-expect-error emit is not public: the mesh raises its own events
  mesh.events.emit('peer:join', 'x')
}

// ── defineHop and hop: captures are typed by the block ──────────────────────────────────────────

{
  const addOne = defineHop('types/add-one', ({ n }: { n: number }) => n + 1)
  expectTypeOf(addOne).toEqualTypeOf<HopBlock<{ n: number }, number>>()
  expectTypeOf(hop(peer, { n: 1 }, addOne)).toEqualTypeOf<Promise<number>>()
  // @ts-expect-error a capture of the wrong type
  void hop(peer, { n: '1' }, addOne)
  // @ts-expect-error a capture under the wrong name
  void hop(peer, { m: 1 }, addOne)
  // @ts-expect-error a missing capture
  void hop(peer, {}, addOne)

  const whereAmI = defineHop('types/where', (_: object, here) => {
    expectTypeOf(here).toEqualTypeOf<Here>()
    return here.path
  })
  expectTypeOf(hop(peer, {}, whereAmI)).toEqualTypeOf<Promise<readonly string[]>>()
  const later = defineHop('types/later', async ({ ms }: { ms: number }) => ms)
  // A block returning a promise resolves to its value, not a promise of a promise.
  expectTypeOf(hop(peer, { ms: 1 }, later)).toEqualTypeOf<Promise<number>>()

  // Principals (issue 16): optional where remote code runs; requirePrincipal narrows.
  defineHop(
    'types/principal',
    (_: object, here) => {
      expectTypeOf(here.principal).toEqualTypeOf<Principal | undefined>()
      expectTypeOf(here.requirePrincipal()).toEqualTypeOf<Principal>()
      // @ts-expect-error the principal may be absent
      return here.principal.sub
    },
    { allow: (_caller, principal) => principal?.claims.role === 'admin' },
  )
  expectTypeOf<CallContext['principal']>().toEqualTypeOf<Principal | undefined>()
}

// ── mesh.remote<T>: every method returns a promise, other properties are absent ─────────────────

{
  interface Store {
    version: number
    get(key: string): string | undefined
    put(key: string, value: string): Promise<void>
  }
  const store = mesh.remote<Store>('peer', 'store')
  expectTypeOf(store).toEqualTypeOf<Remote<Store>>()
  expectTypeOf(store.get).toEqualTypeOf<(key: string) => Promise<string | undefined>>()
  expectTypeOf(store.put).toEqualTypeOf<(key: string, value: string) => Promise<void>>()
  // @ts-expect-error a data property does not travel
  void store.version
  // @ts-expect-error the arguments are the method's own
  void store.get(1)
}

// ── service clusters: handlers typed by the cluster's value and reply ───────────────────────────

{
  const served = mesh.serve<number, string>('types/cluster', {
    request: (value, context) => {
      expectTypeOf(value).toEqualTypeOf<number>()
      expectTypeOf(context.from).toEqualTypeOf<string>()
      return String(value)
    },
  })
  expectTypeOf(served).toEqualTypeOf<Promise<Service>>()
  // @ts-expect-error the reply is the declared type
  void mesh.serve<number, string>('types/cluster', { request: (value: number) => value })
  expectTypeOf(mesh.request<string>('types/cluster', 1)).toEqualTypeOf<Promise<string>>()
  expectTypeOf(mesh.subscribe<number>('types/topic', (value) => expectTypeOf(value).toEqualTypeOf<number>())).toEqualTypeOf<Promise<Subscription>>()
  const tunnel = {} as Tunnel<string, number>
  expectTypeOf(tunnel.send).parameter(0).toEqualTypeOf<string>()
  expectTypeOf(tunnel.receive()).toEqualTypeOf<Promise<number>>()
  expectTypeOf(mesh.tunnel<string, number>('types/cluster')).toEqualTypeOf<Promise<Tunnel<string, number>>>()
}
