/**
 * Attack: a reply without a CLOSE. The caller waited for the serving side's CLOSE with a bare
 * receive, unbounded: a serving peer that replied, never closed and went on sending left the
 * caller's stream open for the session's life with a window of data held — per call, past
 * maxInboundBytes without bound. Now the caller stops receiving after the one reply when the CLOSE
 * did not come with it (src/rpc/one-message.ts). (A call small enough for the call stream does
 * not have a stream of its own: test/attacks/call-stream.test.ts attacks that one.)
 */
import { afterEach, describe, expect, it } from 'vitest'
import { callOverConnection, configureRequests } from '../../src/rpc/call.js'
import { replyToWire } from '../../src/rpc/protocol.js'
import { connectionPair, type ConnectionPair } from '../channels/helpers.js'

const MiB = 1024 * 1024

describe('attack: a reply without CLOSE', () => {
  let pair: ConnectionPair
  afterEach(() => pair?.dispose())

  it('40 calls to a peer that replies, never closes, then fills the window: no stream stays open, held bytes stay within the budget', async () => {
    pair = await connectionPair('memory', { muxConfig: { maxInboundBytes: 4 * MiB } })
    configureRequests(pair.a, { callStream: false }) // each call on a stream of its own, the path under attack here
    // b is hostile: it answers each request, then sends 200 KiB more on the stream, never a CLOSE.
    pair.b.session.events.on('stream', (stream) => {
      void (async () => {
        await stream.receive()
        await stream.send(pair.b.encode(replyToWire({ kind: 'value', value: 'ok' })))
        await stream.send(new Uint8Array(100 * 1024))
        await stream.send(new Uint8Array(200 * 1024)) // stays held: nobody reads
      })().catch(() => {}) // this side's STOP fails the hostile sends: that is the point
    })
    for (let i = 0; i < 40; i++) expect(await callOverConnection(pair.a, { kind: 'call', name: 'x', value: i }, { timeout: 2_000 })).toBe('ok')
    await new Promise((r) => setTimeout(r, 200))
    const stats = pair.a.session.stats()
    expect(stats.streams).toBe(0)
    expect(stats.inboundBytes).toBeLessThanOrEqual(4 * MiB)
  })
})
