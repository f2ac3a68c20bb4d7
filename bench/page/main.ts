/**
 * A benchmark peer in a Chromium tab, driven by bench/run.mjs with page.evaluate. The two tabs are
 * same-origin tabs of one browser context and signal to each other directly over a BroadcastChannel.
 */
import type { RtcPeerConnectionConstructor } from '../../src/transport/webrtc-link.js'
import { isOperationName, type OperationArgs, type OperationName } from '../peer/operations.js'
import { BenchPeer, type BenchTuning, type RtcSignal } from '../peer/rig.js'

let peer: BenchPeer | undefined
const signals = new BroadcastChannel('meshscope-bench-signals')

const bench = {
  /** Creates this side's peer and starts listening for the other tab's signals (the initiator sends its offer at once). */
  start(initiator: boolean, tuning?: BenchTuning): void {
    const me = initiator ? 'a' : 'b'
    peer = new BenchPeer({
      initiator,
      tuning,
      RTCPeerConnection: RTCPeerConnection as unknown as RtcPeerConnectionConstructor,
      sendSignal: (signal) => signals.postMessage({ from: me, signal }),
    })
    signals.onmessage = (event: MessageEvent<{ from: string; signal: RtcSignal }>) => {
      if (event.data.from !== me) void peer!.acceptSignal(event.data.signal)
    }
  },
  async ready(): Promise<boolean> {
    await peer!.ready
    return true
  },
  run(op: string, args: OperationArgs<OperationName>): Promise<unknown> {
    if (!isOperationName(op)) return Promise.reject(new Error(`unknown operation ${op}`))
    return peer!.run(op, args)
  },
  failure(): string | null {
    return peer?.failure ?? null
  },
  close(): void {
    peer?.close()
  },
}

// After the link died under a measurement, the abandoned measurement's loops fail too: expected.
addEventListener('unhandledrejection', (event) => {
  if (peer?.failure) event.preventDefault()
})

Object.assign(globalThis, { bench })
