/**
 * WebRtcLink's close path against wrtc's fragile close (docs/architecture.md, "wrtc's fragile close"):
 * once a data channel closes, wrtc releases its native handle on its own thread, and a call from
 * JavaScript into that channel at the same moment can crash the process. The link must make no call
 * into a channel once it closed it or saw it close, and close the connection, not the channels, when
 * it ends. The channels here are wrtc's own, with their methods wrapped to record calls.
 */
import wrtc from '@roamhq/wrtc'
import { describe, expect, it } from 'vitest'
import { WebRtcLink, type RtcPeerConnectionConstructor, type RtcSignal } from '../../src/transport/webrtc-link.js'

/** A call into a channel after it closed (this side called close(), or its close event came). */
interface LateCall {
  label: string
  call: string
}

/** wrtc's RTCPeerConnection whose data channels record every call made into them once they closed. */
function recordingPeerConnection(lateCalls: LateCall[]): RtcPeerConnectionConstructor {
  const Base = wrtc.RTCPeerConnection as unknown as RtcPeerConnectionConstructor
  return class extends Base {
    override createDataChannel(label: string, init?: RTCDataChannelInit): RTCDataChannel {
      const channel = super.createDataChannel(label, init)
      let closed = false
      const note = (call: string) => {
        if (closed) lateCalls.push({ label, call })
      }
      channel.addEventListener('close', () => {
        closed = true
      })
      const proto = Object.getPrototypeOf(channel) as object
      const bufferedAmount = findGetter(proto, 'bufferedAmount')
      const readyState = findGetter(proto, 'readyState')
      const send = channel.send
      const close = channel.close
      Object.defineProperties(channel, {
        bufferedAmount: {
          get() {
            note('bufferedAmount')
            return bufferedAmount.call(channel)
          },
        },
        readyState: {
          get() {
            note('readyState')
            return readyState.call(channel)
          },
        },
        send: {
          value: (data: never) => {
            note('send')
            return send.call(channel, data)
          },
        },
        close: {
          value: () => {
            note('close')
            closed = true
            return close.call(channel)
          },
        },
      })
      return channel
    }
  }
}

function findGetter(object: object | null, name: string): () => unknown {
  for (let proto = object; proto; proto = Object.getPrototypeOf(proto)) {
    const getter = Object.getOwnPropertyDescriptor(proto, name)?.get
    if (getter) return getter
  }
  throw new Error(`no getter ${name}`)
}

function createPair(RTCPeerConnection: RtcPeerConnectionConstructor) {
  const deliver = (to: () => WebRtcLink) => (signal: RtcSignal) => void to().acceptSignal(signal)
  const a: WebRtcLink = new WebRtcLink({ initiator: true, RTCPeerConnection, sendSignal: deliver(() => b) })
  const b: WebRtcLink = new WebRtcLink({ initiator: false, RTCPeerConnection, sendSignal: deliver(() => a) })
  return { a, b }
}

const closeOf = (link: WebRtcLink) => new Promise<string>((resolve) => link.events.once('close', (info) => resolve(info.reason)))
/** A send whose rejection the test reads later (settle), not an unhandled one while the links close. */
const observed = (sent: Promise<void>) => {
  sent.catch(() => {})
  return sent
}
const settle = (sends: Promise<void>[]) =>
  Promise.all(
    sends.map((sent) =>
      sent.then(
        () => 'sent',
        (error: { code?: string }) => error.code ?? String(error),
      ),
    ),
  )

describe('WebRtcLink close path (wrtc)', () => {
  it('makes no call into a channel once the peer closed it, while its own sends were still queued', async () => {
    const lateCalls: LateCall[] = []
    const { a, b } = createPair(recordingPeerConnection(lateCalls))
    await Promise.all([a.opened, b.opened])
    const closedA = closeOf(a)
    const closedB = closeOf(b)
    // a floods both lanes far past their marks: its queues are pumping and polling for drain…
    const sends: Promise<void>[] = []
    for (let i = 0; i < 256; i++) sends.push(observed(a.send(new Uint8Array(16 * 1024).fill(i & 0xff), i % 2 ? 'bulk' : 'latency')))
    await new Promise((resolve) => setTimeout(resolve, 5))
    // …when b leaves.
    b.close('leaving')
    expect(await closedB).toBe('closed')
    expect(await closedA).toBe('remote-closed')
    const outcomes = await settle(sends)
    expect(outcomes.filter((outcome) => outcome !== 'sent' && outcome !== 'LINK_CLOSED')).toEqual([])
    // Callbacks wrtc still dispatches after the close must not lead to calls either.
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(lateCalls).toEqual([])
  })

  it('makes no call into a channel once it closed it, when both sides close at once while sending', async () => {
    const lateCalls: LateCall[] = []
    const { a, b } = createPair(recordingPeerConnection(lateCalls))
    await Promise.all([a.opened, b.opened])
    const arrived = { a: [] as number[], b: [] as number[] }
    let messageAfterClose = false
    for (const [name, link] of [['a', a] as const, ['b', b] as const]) {
      link.events.on('message', (data, lane) => {
        if (lane === 'bulk') arrived[name].push(data[0]!)
      })
      link.events.once('close', () => link.events.on('message', () => (messageAfterClose = true)))
    }
    const closed = [closeOf(a), closeOf(b)]
    const sends: Promise<void>[] = []
    for (let i = 0; i < 64; i++) {
      sends.push(observed(a.send(new Uint8Array(16 * 1024).fill(i), 'bulk')))
      sends.push(observed(b.send(new Uint8Array(16 * 1024).fill(i), 'bulk')))
    }
    a.close('leaving')
    b.close('leaving')
    const reasons = await Promise.all(closed)
    for (const reason of reasons) expect(['closed', 'remote-closed']).toContain(reason)
    const outcomes = await settle(sends)
    expect(outcomes.filter((outcome) => outcome !== 'sent' && outcome !== 'LINK_CLOSED')).toEqual([])
    // What arrived is an in-order prefix of what was sent (wrtc drops what is unsent at its close).
    for (const values of [arrived.a, arrived.b]) expect(values).toEqual([...Array(values.length).keys()])
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(messageAfterClose).toBe(false)
    expect(lateCalls).toEqual([])
  })
})
