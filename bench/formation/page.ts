/**
 * A formation-benchmark peer in a Chromium tab, driven by bench/formation.mjs with page.evaluate. The raw
 * floor's two tabs signal to each other over a BroadcastChannel, the quickest way between two tabs.
 */
import { mirrorJoin, mirrorLeave, ownerJoin, ownerRun } from './mirror.js'
import { firstMessageTrace, joinAndForm, joinAndSendFirst, leave, rawAccept, rawClose, rawStart, stages, waitForFirstMessage, type RawSignal } from './roles.js'

let firstMessage: Promise<number> | undefined
let rawReceived: Promise<number> | undefined
const rawSignals = new BroadcastChannel('meshscope-formation-raw')

const formation = {
  form: (url: string, room: string, members: number) => joinAndForm(undefined, url, room, members),
  async waitFirst(url: string, room: string, trace = false): Promise<boolean> {
    const { joined, received } = await waitForFirstMessage(undefined, url, room, trace)
    firstMessage = received
    await joined
    return true
  },
  firstReceivedAt: () => firstMessage,
  sendFirst: (url: string, room: string, trace = false) => joinAndSendFirst(undefined, url, room, trace),
  firstMessageTrace: () => firstMessageTrace,
  stages: () => stages,
  /** The answering side starts first and listens; the initiator's start is the measured moment. */
  rawStart(initiator: boolean): number {
    const me = initiator ? 'a' : 'b'
    rawSignals.onmessage = (event: MessageEvent<{ from: string; signal: RawSignal }>) => {
      if (event.data.from !== me) void rawAccept(event.data.signal, (signal) => rawSignals.postMessage({ from: me, signal }))
    }
    const { startedAt, received } = rawStart(RTCPeerConnection, initiator, (signal) => rawSignals.postMessage({ from: me, signal }))
    rawReceived = received
    return startedAt
  },
  rawReceivedAt: () => rawReceived,
  mirrorOwnerJoin: (url: string, room: string) => ownerJoin(undefined, url, room),
  mirrorOwnerRun: (count: number, warmup: number) => ownerRun(count, warmup),
  mirrorJoin: (url: string, room: string) => mirrorJoin(undefined, url, room),
  async close(): Promise<void> {
    rawClose()
    await mirrorLeave()
    await leave()
  },
}

Object.assign(globalThis, { formation })
