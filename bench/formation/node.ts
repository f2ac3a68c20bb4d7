/**
 * A formation-benchmark process, driven by bench/formation.mjs over IPC: a Node peer (wrtc) running one
 * of the roles of roles.ts, or the signaling server. Built into one ES module by the runner (Vite SSR build).
 */
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import wrtc from '@roamhq/wrtc'
import { WebSocket } from 'ws'
import type { Platform } from '../../src/mesh/platform.js'
import { createSignalingServer, type SignalingServer } from '../../signaling/index.js'
import { mirrorJoin, mirrorLeave, ownerJoin, ownerRun } from './mirror.js'
import { firstMessageTrace, joinAndForm, joinAndSendFirst, leave, rawAccept, rawClose, rawStart, stages, waitForFirstMessage, type RawSignal } from './roles.js'

const platform = { RTCPeerConnection: wrtc.RTCPeerConnection, WebSocket } as unknown as Platform
const RTCPeerConnectionClass = wrtc.RTCPeerConnection as unknown as new (config?: RTCConfiguration) => RTCPeerConnection

let server: SignalingServer | undefined
let firstMessage: Promise<number> | undefined
let rawReceived: Promise<number> | undefined
const sendRawSignal = (signal: RawSignal) => process.send!({ rawSignal: signal })

type Args = Record<string, unknown>
const handlers: Record<string, (args: Args) => unknown> = {
  async serve() {
    let refused = 0
    server = createSignalingServer({ port: 0, host: '127.0.0.1', log: (line) => void (line.includes(' refused ') && refused++) })
    await server.ready
    ;(globalThis as { refusedLines?: () => number }).refusedLines = () => refused
    return server.address().url
  },
  serverRefusals: () => (globalThis as { refusedLines?: () => number }).refusedLines?.() ?? 0,
  /** Joins and forms; `cpuMs` is what this process spent doing it (all threads: JS, wrtc's network and signaling threads). */
  async form({ url, room, members }) {
    const profiler = await startFormProfile()
    const before = process.cpuUsage()
    const report = await joinAndForm(platform, url as string, room as string, members as number)
    const used = process.cpuUsage(before)
    await profiler?.stop()
    return { ...report, cpuMs: (used.user + used.system) / 1000 }
  },
  async waitFirst({ url, room, trace }) {
    const { joined, received } = await waitForFirstMessage(platform, url as string, room as string, trace === true)
    firstMessage = received
    await joined
    return true
  },
  firstReceivedAt: () => firstMessage,
  sendFirst: ({ url, room, trace }) => joinAndSendFirst(platform, url as string, room as string, trace === true),
  firstMessageTrace: () => firstMessageTrace,
  stages: () => stages,
  rawStart({ initiator }) {
    const { startedAt, received } = rawStart(RTCPeerConnectionClass, initiator as boolean, sendRawSignal)
    rawReceived = received
    return startedAt
  },
  rawReceivedAt: () => rawReceived,
  mirrorOwnerJoin: ({ url, room }) => ownerJoin(platform, url as string, room as string),
  mirrorOwnerRun: ({ count, warmup }) => ownerRun(count as number, warmup as number),
  mirrorJoin: ({ url, room }) => mirrorJoin(platform, url as string, room as string),
  async close() {
    rawClose()
    await mirrorLeave()
    await leave()
    await server?.close()
    setTimeout(() => process.exit(0), 100)
    return true
  },
}

/**
 * FORMATION_PROFILE_DIR (diagnosis): a CPU profile of the main thread from the `form` command until
 * the room formed — the formation alone, without the process's startup and teardown that
 * `--cpu-prof` records too — sampled every 100 µs, written as `form-<pid>.cpuprofile`.
 */
async function startFormProfile(): Promise<{ stop(): Promise<void> } | undefined> {
  const dir = process.env.FORMATION_PROFILE_DIR
  if (!dir) return undefined
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 100 })
  await session.post('Profiler.start')
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop')
      writeFileSync(join(dir, `form-${process.pid}.cpuprofile`), JSON.stringify(profile))
      session.disconnect()
    },
  }
}

process.on('message', (message: { rawSignal?: RawSignal; id?: number; cmd?: string; args?: Args }) => {
  if (message.rawSignal) return void rawAccept(message.rawSignal, sendRawSignal)
  const handler = handlers[message.cmd ?? '']
  Promise.resolve()
    .then(() => (handler ? handler(message.args ?? {}) : Promise.reject(new Error(`unknown command ${message.cmd}`))))
    .then(
      (result) => process.send!({ id: message.id, result }),
      (error: unknown) => process.send!({ id: message.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    )
})
process.send!({ ready: true })
