/**
 * The two sides of the tab ↔ Node mirror-update measurement (bench/mirror.mjs), in a Node process
 * (node.ts) or a Chromium tab (page.ts): an owner of an ObservableMap and a peer that mirrors it.
 * The owner runs the whole loop, so no runner round trip sits inside a sample: per step one `mesh.call`
 * to the mirror's peer (the baseline on the same link), then one `set`, waiting until the mirror
 * acknowledged it. Times are absolute (`now()` of roles.ts), comparable between a process and a tab.
 */
import { Mesh } from '../../src/mesh/mesh.js'
import type { Platform } from '../../src/mesh/platform.js'
import { type MapSubscription, ObservableMap } from '../../src/objects/collections/map.js'
import { now } from './roles.js'

const SUBSCRIBE_MAILBOX = 'mirror-bench-subscribe'
const SEEN_MAILBOX = 'mirror-bench-seen'
const ECHO_MAILBOX = 'mirror-bench-echo'
/** No single step may take longer: a lost update fails the measurement rather than hanging it. */
const STEP_TIMEOUT_MS = 10_000

/** Per measured step (warm-up left out), in ms. */
export interface MirrorSamples {
  /** Owner's `set` → the mirror's value changed (two clocks, one machine). */
  forward: number[]
  /** Owner's `set` → the mirror's acknowledgement arrived back (a round trip, like `callRtt`). */
  update: number[]
  /** `mesh.call` to the mirror's peer → its reply arrived (the baseline on the same link). */
  callRtt: number[]
  /** `mesh.call` → the handler ran on the other side (the one-way baseline, comparable with `forward`). */
  callForward: number[]
}

let mesh: Mesh | undefined
let owned: ObservableMap<string, number> | undefined
/** Acknowledgements from the mirror, `[seq, seenAt]`, and the owner's waiter for the next one. */
const acks: Array<[number, number]> = []
let ackWaiter: (() => void) | undefined

const join = (platform: Partial<Platform> | undefined, url: string, room: string) => Mesh.join({ signaling: url, room, ...(platform ? { platform } : {}) })

/** The owner joins first and offers subscriptions to its map; the mirror's acknowledgements queue up. */
export async function ownerJoin(platform: Partial<Platform> | undefined, url: string, room: string): Promise<void> {
  mesh = await join(platform, url, room)
  const map = (owned = new ObservableMap<string, number>([['seq', -1]]))
  mesh.register(SUBSCRIBE_MAILBOX, () => map.subscribe({ buffer: 64 }))
  mesh.register<[number, number]>(SEEN_MAILBOX, (seen) => {
    acks.push(seen)
    ackWaiter?.()
  })
}

async function nextAck(): Promise<[number, number]> {
  const deadline = now() + STEP_TIMEOUT_MS
  while (acks.length === 0) {
    if (now() > deadline) throw new Error(`no mirror acknowledgement within ${STEP_TIMEOUT_MS} ms`)
    await new Promise<void>((resolve) => {
      ackWaiter = resolve
      setTimeout(resolve, 100)
    })
  }
  return acks.shift()!
}

/** Runs `warmup + count` steps once the mirror is complete; returns the measured steps' samples. */
export async function ownerRun(count: number, warmup: number): Promise<MirrorSamples> {
  const map = owned
  const joined = mesh
  if (!map || !joined) throw new Error('ownerRun before ownerJoin')
  const [complete] = await nextAck()
  if (complete !== -1) throw new Error(`expected the mirror complete, got ${complete}`)
  const peerId = joined.peers[0]
  if (!peerId) throw new Error('the mirror is not linked')
  const samples: MirrorSamples = { forward: [], update: [], callRtt: [], callForward: [] }
  for (let seq = 0; seq < warmup + count; seq++) {
    const calledAt = now()
    const handledAt = await joined.call<number>(peerId, ECHO_MAILBOX, seq, { timeout: STEP_TIMEOUT_MS })
    const callRtt = now() - calledAt
    const mutatedAt = now()
    map.set('seq', seq)
    const [seen, seenAt] = await nextAck()
    const update = now() - mutatedAt
    if (seen !== seq) throw new Error(`the mirror saw ${seen} where ${seq} was set`)
    if (seq < warmup) continue
    samples.forward.push(seenAt - mutatedAt)
    samples.update.push(update)
    samples.callRtt.push(callRtt)
    samples.callForward.push(handledAt - calledAt)
  }
  return samples
}

/**
 * The mirroring side: joins, answers the owner's calls with when they arrived, subscribes to the
 * owner's map and acknowledges every change of its `seq` entry (`-1` once complete). Resolves once
 * the mirror is complete; the acknowledging goes on until `mirrorLeave`.
 */
export async function mirrorJoin(platform: Partial<Platform> | undefined, url: string, room: string): Promise<void> {
  const joined = (mesh = await join(platform, url, room))
  joined.register(ECHO_MAILBOX, () => now())
  const ownerId = joined.peers[0] ?? (await new Promise<string>((resolve) => joined.once('peer:join', resolve)))
  const subscription = await joined.call<MapSubscription<string, number>>(ownerId, SUBSCRIBE_MAILBOX, null)
  const mirror = subscription.mirror()
  await mirror.whenComplete()
  await joined.send(ownerId, SEEN_MAILBOX, [-1, now()])
  void (async () => {
    let last = mirror.value.get('seq')
    try {
      for (;;) {
        while (mirror.value.get('seq') === last && !mirror.done) await mirror.changed()
        if (mirror.done) return
        last = mirror.value.get('seq')
        const seenAt = now()
        await joined.send(ownerId, SEEN_MAILBOX, [last, seenAt])
      }
    } catch {
      // The owner went away (the run ended): the owner's loop sees the missing acknowledgement.
    } finally {
      mirror.close()
    }
  })()
}

export async function mirrorLeave(): Promise<void> {
  owned?.done()
  owned = undefined
  acks.length = 0
  await mesh?.close()
  mesh = undefined
}
