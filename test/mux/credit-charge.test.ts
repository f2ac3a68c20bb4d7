/**
 * Mux version 3: every DATA frame costs its payload plus DATA_FRAME_CREDIT_BYTES of credit, and the
 * small chunks of a stream are kept in one run, so what unread data retains is bounded by the credit
 * the peer used, not by how many messages it cut it into (docs/protocol.md, "Flow control" and
 * "Worst case held"). Each test floods unread streams with a raw peer, then asserts the refusal and
 * that the memory retained (as the budget counts it, and heap + ArrayBuffers after a full GC) stays
 * within RETAINED_PER_CREDIT of the credit used, plus MEMORY_SLACK_BYTES for the test's own objects.
 */
import { describe, expect, it } from 'vitest'
import * as frameModule from '../../src/mux/frame.js'
import { encodeFrame, type Frame } from '../../src/mux/frame.js'
import { memoryAfterGc } from './memory.js'
import { nextIncoming } from './helpers.js'
import { batchOf, rawPeersDisposedAfterEach, type RawPeer } from './raw-peer.js'

const MiB = 1024 * 1024
const MEMORY_SLACK_BYTES = 8 * MiB
const WINDOW_BYTES = 256 * 1024
/** What a stream may retain for unread data per byte of credit the peer used (docs/protocol.md "Worst case held"). */
const RETAINED_PER_CREDIT = 1.25
/** A DATA frame's charge (0 before version 3, so this file also runs against older code, for the before/after table). */
const CHARGE: number = (frameModule as Record<string, unknown>).DATA_FRAME_CREDIT_BYTES === undefined ? 0 : frameModule.DATA_FRAME_CREDIT_BYTES
/** Messages per stream at most: binds only before version 3, where an empty message cost no credit. */
const MAX_MESSAGES_PER_STREAM = 300_000
/** Frames of at most a few bytes that fit in one 16 KiB batch. */
const FRAMES_PER_BATCH = 1600

/** With MUX_ATTACK_REPORT=1, prints each attack's memory growth (for the table in the closing note). */
function report(attack: string, growthBytes: number, creditBytes: number): void {
  if (process.env.MUX_ATTACK_REPORT)
    console.log(
      `[attack] ${attack}: ${(growthBytes / MiB).toFixed(2)} MiB for ${(creditBytes / MiB).toFixed(2)} MiB of credit (×${(growthBytes / creditBytes).toFixed(2)})`,
    )
}

const peer = rawPeersDisposedAfterEach()

/** How an attack cuts what it sends: the payload sizes of its messages (each one DATA+FIN), repeated, and whether each frame is a link message of its own. */
interface Shape {
  name: string
  sizes: number[]
  lone: boolean
}

/** Complete messages of `shape` on `streamId`, as many as its credit (a fresh window) allows; returns the credit they use. */
async function fillWindow(raw: RawPeer, streamId: number, shape: Shape): Promise<number> {
  const frames: Frame[] = []
  let used = 0
  for (let i = 0; i < MAX_MESSAGES_PER_STREAM; i++) {
    const size = shape.sizes[i % shape.sizes.length]!
    if (used + size + CHARGE > WINDOW_BYTES) break
    frames.push({ type: 'data', streamId, fin: true, payload: new Uint8Array(size).fill(i & 0xff) })
    used += size + CHARGE
  }
  if (shape.lone) for (const frame of frames) await raw.sendRaw(encodeFrame(frame))
  else for (let i = 0; i < frames.length; i += FRAMES_PER_BATCH) await raw.sendRaw(batchOf(frames.slice(i, i + FRAMES_PER_BATCH)))
  return used
}

async function openUnread(raw: RawPeer, count: number): Promise<number[]> {
  const ids = Array.from({ length: count }, (_, i) => 2 + 2 * i)
  for (const id of ids) await raw.send({ type: 'open', streamId: id, purpose: 'request' })
  await raw.barrier()
  return ids
}

const resetOf = (streamId: number) => (frame: Frame) => frame.type === 'reset' && frame.streamId === streamId

describe('unread streams retain about the credit the peer used', () => {
  const shapes: Shape[] = [
    { name: '1-byte messages', sizes: [1], lone: false },
    { name: 'empty messages', sizes: [0], lone: false },
    { name: '100-byte messages, each alone in its link message', sizes: [100], lone: true },
    { name: '8 KiB messages (views) between 1-byte ones, each alone', sizes: [8 * 1024, 1], lone: true },
    { name: '8 KiB - 1 messages (copied), each alone', sizes: [8 * 1024 - 1], lone: true },
  ]
  it.each(shapes)(
    '$name on 4 unread streams up to their credit: accepted, the next frame resets the stream, memory bounded',
    async (shape) => {
      const streams = 4
      const raw = peer()
      await raw.handshake()
      const ids = await openUnread(raw, streams)
      const before = memoryAfterGc()
      const used: number[] = []
      for (const id of ids) used.push(await fillWindow(raw, id, shape))
      const credit = used.reduce((sum, bytes) => sum + bytes, 0)
      expect(await raw.barrier()).toBe(true)
      const growth = memoryAfterGc() - before
      report(`${shape.name}, ${streams} unread streams`, growth, credit)
      expect(raw.frames.some((frame) => frame.type === 'reset')).toBe(false)
      const { inboundBytes } = raw.session.stats()
      expect(inboundBytes).toBeLessThanOrEqual(credit * RETAINED_PER_CREDIT)
      expect(growth).toBeLessThan(credit * RETAINED_PER_CREDIT + MEMORY_SLACK_BYTES)
      // One byte past the credit (the frame charge counted) resets the stream.
      const overBytes = Math.max(0, WINDOW_BYTES - used[0]! - CHARGE + 1)
      await raw.send({ type: 'data', streamId: ids[0]!, fin: true, payload: new Uint8Array(overBytes) })
      expect(await raw.waitFor('the reset', resetOf(ids[0]!))).toMatchObject({ reason: 'protocolError', message: expect.stringContaining('credit') })
      expect(raw.session.state).toBe('open')
    },
    30_000,
  )

  it('a lone 100-byte frame in its own link message is copied, not kept as a view of the message; every message arrives', async () => {
    const raw = peer()
    await raw.handshake()
    const incoming = nextIncoming(raw.session)
    await raw.send({ type: 'open', streamId: 2, purpose: 'request' })
    const stream = await incoming
    const count = 100
    for (let i = 0; i < count; i++) await raw.send({ type: 'data', streamId: 2, fin: true, payload: new Uint8Array(100).fill(i) })
    expect(await raw.barrier()).toBe(true)
    // One run: its blocks (at most 1.25 × the bytes) and objects, not a link message and an entry each.
    expect(raw.session.stats().inboundBytes).toBeLessThan(count * (100 + CHARGE) * RETAINED_PER_CREDIT)
    for (let i = 0; i < count; i++) {
      const message = (await stream.receive())!
      expect(message).toEqual(new Uint8Array(100).fill(i))
      if (i < count - 1) expect(message.buffer.byteLength).toBe(100) // a copy of its own, not the run's buffer
    }
  })
})
