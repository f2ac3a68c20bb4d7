/**
 * A process of the service-cluster benchmark (bench/clusters.mjs), driven over IPC
 * ({ id, cmd, args } → { id, result } or { id, error }). It holds any number of meshes of one room
 * (Node, wrtc) and, when asked, the signaling server. Built into one ES module by the runner (Vite
 * SSR build), so it runs the working tree's src/ as plain JS.
 * Times that cross processes are `performance.timeOrigin + performance.now()`: one clock on one machine.
 */
import { Mesh } from '../src/node.js'
import { createSignalingServer, type SignalingServer } from '../signaling/index.js'

const ECHO_MAILBOX = 'bench.echo'
const now = () => performance.timeOrigin + performance.now()

let server: SignalingServer | undefined
let meshes: Mesh[] = []
/** Per topic: when each event (by its id) reached each subscriber of this process. */
const arrivals = new Map<string, Map<number, number[]>>()

function p50(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const commands = {
  async signaling(): Promise<string> {
    server = createSignalingServer({ port: 0, host: '127.0.0.1', log: () => {} })
    await server.ready
    return server.address().url
  },

  /** Joins `count` meshes to `room`; each answers `bench.echo` calls with their value. */
  async join({ signaling, room, count, options }: { signaling: string; room: string; count: number; options?: Record<string, unknown> }): Promise<string[]> {
    for (let i = 0; i < count; i++) {
      const mesh = await Mesh.join({ signaling, room, ...options })
      if (process.env.BENCH_CLUSTERS_DEBUG) mesh.on('error', (error) => console.error(`[peer ${mesh.id.slice(0, 6)}] ${error.code}: ${error.message}`))
      mesh.register(ECHO_MAILBOX, (value: unknown) => value)
      meshes.push(mesh)
    }
    return meshes.map((mesh) => mesh.id)
  },

  async leave(): Promise<void> {
    await Promise.all(meshes.map((mesh) => mesh.close()))
    meshes = []
  },

  /** Mesh `index` serves `cluster`, answering each request with its value. */
  async serve({ index, cluster }: { index: number; cluster: string }): Promise<void> {
    await meshes[index]!.serve(cluster, { request: (value: unknown) => value })
  },

  /** Every mesh here subscribes to `topic`, recording when each event `{ id }` arrives. */
  async subscribe({ topic }: { topic: string }): Promise<void> {
    const byEvent = new Map<number, number[]>()
    arrivals.set(topic, byEvent)
    await Promise.all(
      meshes.map((mesh) =>
        mesh.subscribe(topic, (event: { id: number }) => {
          const at = now()
          let times = byEvent.get(event.id)
          if (!times) byEvent.set(event.id, (times = []))
          times.push(at)
        }),
      ),
    )
  },

  /** Whether every mesh here lists `count` members of `cluster` (or subscribers of `topic`). */
  directoryHas({ cluster, topic, count }: { cluster?: string; topic?: string; count: number }): boolean {
    return meshes.every((mesh) => {
      const directory = mesh.directory()
      return (cluster ? directory.clusters[cluster] : directory.topics[topic!])?.length === count
    })
  },

  /**
   * From mesh 0: a request to `cluster` (one member, `member`) and a call to `member`'s echo mailbox,
   * interleaved one by one (request, call, request, call …), each 64 bytes; `warmup` pairs uncounted.
   */
  async requestVsCall({ cluster, member, warmup, pairs }: { cluster: string; member: string; warmup: number; pairs: number }) {
    const mesh = meshes[0]!
    const payload = new Uint8Array(64)
    const requestMs: number[] = []
    const callMs: number[] = []
    for (let i = 0; i < warmup + pairs; i++) {
      let started = performance.now()
      await mesh.request(cluster, payload)
      const request = performance.now() - started
      started = performance.now()
      await mesh.call(member, ECHO_MAILBOX, payload)
      const call = performance.now() - started
      if (i >= warmup) {
        requestMs.push(request)
        callMs.push(call)
      }
    }
    return { requestP50Ms: p50(requestMs), callP50Ms: p50(callMs) }
  },

  /** From mesh 0: requests to `cluster` with `inFlight` outstanding at all times for `durationMs`; completed per second. */
  async requestRate({ cluster, inFlight, durationMs }: { cluster: string; inFlight: number; durationMs: number }): Promise<number> {
    const mesh = meshes[0]!
    const payload = new Uint8Array(64)
    const ends = performance.now() + durationMs
    let done = 0
    const worker = async () => {
      while (performance.now() < ends) {
        await mesh.request(cluster, payload)
        done++
      }
    }
    const started = performance.now()
    await Promise.all(Array.from({ length: inFlight }, worker))
    return done / ((performance.now() - started) / 1000)
  },

  /**
   * Mesh 0 publishes `{ id }` on `topic`; returns when it did (the shared clock) without waiting for
   * the deliveries: one waiting for a link opened on demand may take up to `connectTimeoutMs`.
   */
  publish({ topic, id }: { topic: string; id: number }): number {
    const at = now()
    meshes[0]!.publish(topic, { id }).catch(() => {})
    return at
  },

  /** When each event reached each subscriber here, by event id. */
  arrivals({ topic }: { topic: string }): Record<number, number[]> {
    return Object.fromEntries(arrivals.get(topic) ?? [])
  },

  async close(): Promise<void> {
    await commands.leave()
    await server?.close()
    setTimeout(() => process.exit(0), 20)
  },
}

type CommandName = keyof typeof commands
process.on('message', async ({ id, cmd, args }: { id: number; cmd: CommandName; args: never }) => {
  try {
    process.send!({ id, result: await (commands[cmd] as (args: never) => unknown)(args) })
  } catch (error) {
    process.send!({ id, error: `${(error as { code?: string }).code ?? ''} ${(error as Error).message}` })
  }
})
// Leave before exiting, also when the runner went away: wrtc can crash a process that exits with a
// connection open (docs/architecture.md, "wrtc's fragile close"); Mesh.close leaves none open.
process.on('disconnect', () => void commands.leave().finally(() => process.exit(0)))
process.send!({ ready: true })
