/**
 * A benchmark peer in its own Node process (wrtc), driven by bench/run.mjs over IPC. The runner
 * relays signals between the two processes and samples memory here (heapUsed + arrayBuffers).
 * Built into one ES module by the runner (Vite SSR build), so this process runs plain JS.
 */
import wrtc from '@roamhq/wrtc'
import type { RtcPeerConnectionConstructor } from '../src/transport/webrtc-link.js'
import { isOperationName, type OperationArgs, type OperationName } from './peer/operations.js'
import { BenchPeer, type BenchTuning, type RtcSignal } from './peer/rig.js'

type Command =
  | { signal: RtcSignal }
  | { id: number; cmd: 'connect'; args: { initiator: boolean; tuning?: BenchTuning } }
  | { id: number; cmd: 'run'; args: { op: string; args: OperationArgs<OperationName> } }
  | { id: number; cmd: 'memStart'; args?: { gcEveryMs?: number } }
  | { id: number; cmd: 'memStop' | 'cpu' | 'failure' | 'close'; args?: undefined }

let peer: BenchPeer | undefined
const gc = (globalThis as { gc?: () => void }).gc
let peakHeapUsed = 0
let peakArrayBuffers = 0
const memoryBytes = () => {
  const usage = process.memoryUsage()
  peakHeapUsed = Math.max(peakHeapUsed, usage.heapUsed)
  peakArrayBuffers = Math.max(peakArrayBuffers, usage.arrayBuffers)
  return usage.heapUsed + usage.arrayBuffers
}
let sampler: ReturnType<typeof setInterval> | undefined
let idleBytes = 0
let peakBytes = 0
let samples = 0
let idleHeapUsed = 0
let idleArrayBuffers = 0

const handlers = {
  async connect({ initiator, tuning }: { initiator: boolean; tuning?: BenchTuning }) {
    peer = new BenchPeer({
      initiator,
      tuning,
      RTCPeerConnection: wrtc.RTCPeerConnection as unknown as RtcPeerConnectionConstructor,
      sendSignal: (signal) => process.send!({ signal }),
    })
    await peer.ready
    return true
  },
  run({ op, args }: { op: string; args: OperationArgs<OperationName> }) {
    if (!isOperationName(op)) throw new Error(`unknown operation ${op}`)
    return peer!.run(op, args)
  },
  /**
   * Idle = after a full GC; then a sample every 20 ms until memStop. With `gcEveryMs`, each sample
   * follows a full GC instead (every `gcEveryMs`): what is retained, without the garbage not yet collected.
   */
  async memStart({ gcEveryMs }: { gcEveryMs?: number } = {}) {
    gc?.()
    await new Promise((resolve) => setTimeout(resolve, 100))
    gc?.()
    const idle = process.memoryUsage()
    idleHeapUsed = idle.heapUsed
    idleArrayBuffers = idle.arrayBuffers
    peakHeapUsed = 0
    peakArrayBuffers = 0
    idleBytes = memoryBytes()
    peakBytes = idleBytes
    samples = 0
    const sample = () => {
      peakBytes = Math.max(peakBytes, memoryBytes())
      samples++
    }
    sampler = setInterval(() => {
      if (!gcEveryMs) return sample()
      // ArrayBuffer backing stores are freed by a sweeper after the GC: sample once it has run.
      gc?.()
      setTimeout(sample, 20)
    }, gcEveryMs ?? 20)
    return idleBytes
  },
  memStop() {
    clearInterval(sampler)
    peakBytes = Math.max(peakBytes, memoryBytes())
    // The two parts peak at different moments: their peaks do not add up to peakBytes.
    return { idleBytes, peakBytes, samples, heapUsedAboveIdle: peakHeapUsed - idleHeapUsed, arrayBuffersAboveIdle: peakArrayBuffers - idleArrayBuffers }
  },
  /** CPU time this process has used (all threads: JS, wrtc's network and signaling threads), for diagnosis. */
  cpu() {
    const usage = process.cpuUsage()
    return (usage.user + usage.system) / 1000
  },
  failure() {
    return peer?.failure ?? null
  },
  close() {
    peer?.close()
    setTimeout(() => process.exit(0), 200)
    return true
  },
}

// After the link died under a measurement, the abandoned measurement's loops fail too: expected, not a crash.
process.on('unhandledRejection', (error) => {
  if (!peer?.failure) console.error('[bench peer] unhandled rejection:', error)
})

process.on('message', (message: Command) => {
  if ('signal' in message) return void peer?.acceptSignal(message.signal)
  const handler = handlers[message.cmd] as (args: unknown) => unknown
  Promise.resolve()
    .then(() => handler(message.args))
    .then(
      (result) => process.send!({ id: message.id, result }),
      (error: unknown) => process.send!({ id: message.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    )
})
process.send!({ ready: true })
