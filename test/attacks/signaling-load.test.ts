/**
 * The signaling server under a hostile crowd (hostile-crowd.mjs, in its own process: silent sockets,
 * flooders that churn, slow readers) while honest SignalingClients join a room and signal each other.
 * Asserts that every honest client joins and every signal arrives, and that the server's memory
 * (this process: the server and the few honest clients) stays under a budget computed from the
 * server's own caps.
 *
 * `npm test` runs a modest crowd (300 sockets, 3 s). `npm run bench:signaling` runs a few thousand
 * (SIGNALING_LOAD_SOCKETS, SIGNALING_LOAD_SECONDS, SIGNALING_LOAD_ADDRESSES) and prints the figures.
 */
import { fork } from 'node:child_process'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { WebSocket as NodeWebSocket } from 'ws'
import { describe, expect, it } from 'vitest'
import { Identity } from '../../src/identity/identity.js'
import { SignalingClient, type WebSocketConstructor } from '../../src/signaling/client.js'
import { createSignalingServer } from '../../signaling/server.js'
import { sleep, withTimeout } from '../signaling/helpers.js'

const SOCKETS = Number(process.env.SIGNALING_LOAD_SOCKETS ?? 300)
const SECONDS = Number(process.env.SIGNALING_LOAD_SECONDS ?? 3)
const ADDRESSES = Number(process.env.SIGNALING_LOAD_ADDRESSES ?? 8)
const HONEST = 6
/** Per admitted socket: the ws and session objects, its parser and a frame in flight. Measured about 10 KiB; budgeted generously. */
const PER_SOCKET_BYTES = 64 * 1024
/** Allocator and GC noise, the honest clients, log counters. */
const SLACK_BYTES = 24 * 1024 * 1024

async function memoryBytes(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  await sleep(20)
  gc?.()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.arrayBuffers
}

interface CrowdStats {
  attempted: number
  opened: number
  refusedByStatus: Record<string, number>
  joined: number
  closedByCode: Record<string, number>
  sent: number
  open: number
}

describe('signaling server under load', () => {
  it(`honest clients join and signal while ${SOCKETS} hostile sockets attack for ${SECONDS} s; memory stays bounded`, {
    timeout: 45_000 + SECONDS * 3_000,
  }, async () => {
    const maxBufferedBytesPerSocket = 128 * 1024
    const maxSocketsPerIp = 64
    const logCounts = new Map<string, number>()
    const server = createSignalingServer({
      port: 0,
      maxBufferedBytesPerSocket,
      maxSocketsPerIp,
      log: (line) => {
        const kind = line.split(' ')[1] ?? '?'
        logCounts.set(kind, (logCounts.get(kind) ?? 0) + 1)
      },
    })
    await server.ready
    const { url } = server.address()
    const baseline = await memoryBytes()
    const loopDelay = monitorEventLoopDelay({ resolution: 10 })
    loopDelay.enable()
    const debug = process.env.SIGNALING_LOAD_DEBUG
      ? setInterval(
          () =>
            console.log(
              'DEBUG',
              JSON.stringify(server.stats()),
              (loopDelay.percentile(99) / 1e6).toFixed(0),
              JSON.stringify(crowdStats),
              JSON.stringify(Object.fromEntries(logCounts)),
              clients.map((c) => c.state).join(),
            ),
          1000,
        )
      : undefined

    const addresses = Array.from({ length: ADDRESSES }, (_, i) => `127.0.1.${i + 1}`)
    const crowd = fork(
      fileURLToPath(new URL('./hostile-crowd.mjs', import.meta.url)),
      [JSON.stringify({ url, sockets: SOCKETS, addresses, payloadBytes: 16_000 })],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    )
    let crowdStats: CrowdStats | undefined
    crowd.on('message', (message: { stats: CrowdStats }) => (crowdStats = message.stats))
    const clients: SignalingClient[] = []
    try {
      let peak = 0
      let peakSockets = 0
      const sampling = (async () => {
        const until = performance.now() + SECONDS * 1000
        while (performance.now() < until) {
          await sleep(1_000) // a full collection each time: not more often, it would slow the server it measures
          peak = Math.max(peak, (await memoryBytes()) - baseline)
          peakSockets = Math.max(peakSockets, server.stats().sockets)
        }
      })()

      await sleep(Math.min(1_000, (SECONDS * 1000) / 3)) // the crowd is in full swing
      const started = performance.now()
      const identities = await Promise.all(Array.from({ length: HONEST }, () => Identity.generate()))
      for (const identity of identities) {
        clients.push(new SignalingClient({ url, room: 'honest', identity, WebSocket: NodeWebSocket as unknown as WebSocketConstructor, joinTimeoutMs: 20_000 }))
      }
      const received = new Map<string, Set<string>>(identities.map((identity) => [identity.id, new Set()]))
      clients.forEach((client, index) => {
        client.events.on('signal', (from) => received.get(identities[index]!.id)!.add(from))
      })
      await Promise.all(clients.map((client) => client.start()))
      const joinedMs = performance.now() - started
      // Everyone signals everyone: what a full mesh needs to link up.
      await withTimeout(
        (async () => {
          while ([...received.values()].some((from) => from.size < HONEST - 1)) {
            clients.forEach((client, index) => {
              for (const other of identities) if (other !== identities[index]) client.sendSignal(other.id, { sdp: 'offer' })
            })
            await sleep(100)
          }
        })(),
        10_000,
        'every honest signal',
      )
      const signalledMs = performance.now() - started
      await sampling

      crowd.send({ type: 'stop' })
      // A crowd busy flooding may take a while to hear the stop; its last report is enough then.
      await withTimeout(new Promise((resolve) => crowd.once('exit', resolve)), 15_000, 'the crowd to stop').catch(() => crowd.kill())
      // A crowd too busy to report (its own process starved) has no figures; the server's still count.
      const stats = crowdStats
      const slowReaders = Math.ceil(peakSockets * 0.2) + 1
      const budget = peakSockets * PER_SOCKET_BYTES + slowReaders * maxBufferedBytesPerSocket + SLACK_BYTES
      console.log(
        [
          `signaling load: ${SOCKETS} hostile sockets from ${ADDRESSES} addresses for ${SECONDS} s`,
          stats
            ? `  crowd: attempted ${stats.attempted}, opened ${stats.opened}, refused at upgrade ${JSON.stringify(stats.refusedByStatus)}, joined ${stats.joined}, closed ${JSON.stringify(stats.closedByCode)}, signals sent ${stats.sent}`
            : '  crowd: sent no report',
          `  server: peak sockets ${peakSockets}, event-loop delay p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, log lines ${JSON.stringify(Object.fromEntries(logCounts))}`,
          `  honest: ${HONEST} joined in ${joinedMs.toFixed(0)} ms, all signals through in ${signalledMs.toFixed(0)} ms`,
          `  memory (heap + arrayBuffers) growth: peak ${(peak / 1e6).toFixed(1)} MB, budget ${(budget / 1e6).toFixed(1)} MB`,
        ].join('\n'),
      )
      expect(clients.every((client) => client.state === 'joined')).toBe(true)
      expect(peakSockets).toBeLessThanOrEqual(ADDRESSES * maxSocketsPerIp + HONEST)
      expect(peak).toBeLessThan(budget)
    } finally {
      clearInterval(debug)
      for (const client of clients) client.close()
      crowd.kill()
      await server.close()
    }
  })
})
