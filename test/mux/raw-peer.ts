/**
 * A real MuxSession on one end of a memory link pair, and on the other end a test-driven "peer" that
 * writes raw frames (or raw bytes) and reads back, parsed, everything the session writes. The session
 * is the initiator (odd stream ids); the raw peer opens even ids.
 */
import { afterEach, beforeEach } from 'vitest'
import type { MuxConfig } from '../../src/mux/config.js'
import { BATCH_ENTRY_PREFIX_BYTES, BATCH_HEADER_BYTES, splitBatch } from '../../src/mux/batch.js'
import { DATA_FRAME_CREDIT_BYTES, FrameType, MUX_VERSION, encodeFrame, parseFrame, type Frame } from '../../src/mux/frame.js'
import { MuxSession, type MuxCloseInfo } from '../../src/mux/session.js'
import type { SharedInboundBudget } from '../../src/mux/shared-budget.js'
import type { Link, LinkCloseInfo, LinkLane } from '../../src/transport/link.js'
import { createMemoryLinkPair } from '../../src/transport/memory-link.js'

export interface RawPeer {
  session: MuxSession
  /** The raw end of the link. */
  link: Link
  /** The session's end of the link (a test may replace its `send` to stop the session's writes). */
  sessionLink: Link
  /** Every frame the session wrote, in order (a batch's frames one by one). */
  readonly frames: Frame[]
  /** The link lane each of `frames` came on. */
  readonly frameLanes: LinkLane[]
  /** How many link messages were batches. */
  readonly batches: () => number
  /** Messages from the session that did not parse as frames (must stay empty). */
  readonly unparsed: Uint8Array[]
  /** Settles with the session's close info. */
  closed: Promise<MuxCloseInfo>
  /** Settles when the raw end of the link closes. */
  linkClosed: Promise<LinkCloseInfo>
  /** Sends on `lane` (default: the latency lane). */
  send(frame: Frame, lane?: LinkLane): Promise<void>
  sendRaw(bytes: Uint8Array, lane?: LinkLane): Promise<void>
  /** Answers the session's HELLO and waits until the session is ready. */
  handshake(hello?: Partial<Extract<Frame, { type: 'hello' }>>): Promise<void>
  /** The first frame (from `from` on) that `match` accepts; waits for it. */
  waitFor<F extends Frame>(what: string, match: (frame: Frame) => frame is F, from?: number): Promise<F>
  waitFor(what: string, match: (frame: Frame) => boolean, from?: number): Promise<Frame>
  /**
   * Sends a PING and waits for its PONG: the session handles frames in order and writes control
   * frames in order, so whatever it was going to answer to the frames before is in `frames` now.
   * False if the session ended instead (a frame sent before ended it).
   */
  barrier(): Promise<boolean>
  /**
   * One message on a stream the raw peer opened, in chunks of `chunkBytes`, never past the credit the
   * session granted (its HELLO window, plus its CREDIT frames).
   */
  sendMessage(streamId: number, bytes: Uint8Array, chunkBytes?: number): Promise<void>
  /** Credit the session granted on a stream the raw peer opened, minus what its DATA used (payload + DATA_FRAME_CREDIT_BYTES a frame). */
  creditLeft(streamId: number): number
  /**
   * Sends up to `totalBytes` on a stream the raw peer opened, in chunks of `chunkBytes` without FIN,
   * as fast as the session grants credit; returns the bytes sent once no credit came for `idleMs`.
   * With `framesPerBatch` > 1, up to that many chunks go in one link message (a batch).
   */
  sendWhileCredit(streamId: number, totalBytes: number, options?: { chunkBytes?: number; idleMs?: number; framesPerBatch?: number }): Promise<number>
  dispose(): Promise<void>
}

const WAIT_LIMIT_MS = 5_000

/** `pool`: the whole mesh's budget the session also counts against (src/mux/shared-budget.ts). */
export function rawPeer(config: Partial<MuxConfig> = {}, options: { pool?: SharedInboundBudget } = {}): RawPeer {
  const { a, b } = createMemoryLinkPair()
  const frameLanes: LinkLane[] = []
  const session = new MuxSession(a, { initiator: true, config, ...(options.pool ? { pool: options.pool } : {}) })
  const frames: Frame[] = []
  const unparsed: Uint8Array[] = []
  const used = new Map<number, number>() // credit the raw peer's DATA used per stream (payload + DATA_FRAME_CREDIT_BYTES a frame)
  const granted = new Map<number, number>() // CREDIT the session granted per stream (beyond its window)
  let sessionWindowBytes: number | undefined
  let pingCounter = 0

  let batches = 0
  b.events.on('message', (bytes, lane) => {
    if (bytes[0] === FrameType.batch) {
      const split = splitBatch(bytes)
      if (!split.ok) return void unparsed.push(bytes)
      batches++
      for (const frame of split.frames) onFrame(frame, lane)
    } else onFrame(bytes, lane)
  })
  const onFrame = (bytes: Uint8Array, lane: LinkLane) => {
    const parsed = parseFrame(bytes)
    if (!parsed.ok) return void unparsed.push(bytes)
    const frame = parsed.frame
    frames.push(frame)
    frameLanes.push(lane)
    if (frame.type === 'hello') sessionWindowBytes = frame.initialWindowBytes
    if (frame.type === 'credit') granted.set(frame.streamId, (granted.get(frame.streamId) ?? 0) + frame.increment)
  }
  const closed = new Promise<MuxCloseInfo>((resolve) => session.events.once('close', resolve))
  const linkClosed = new Promise<LinkCloseInfo>((resolve) => b.events.once('close', resolve))

  const waitUntil = <T>(what: string, find: () => T | undefined) =>
    poll(find, () => `timed out waiting for ${what}; the session wrote: ${frames.map((frame) => frame.type).join(', ')}`)

  const peer: RawPeer = {
    session,
    link: b,
    sessionLink: a,
    frames,
    frameLanes,
    batches: () => batches,
    unparsed,
    closed,
    linkClosed,
    send: (frame, lane) => b.send(encodeFrame(frame), lane),
    sendRaw: (bytes, lane) => b.send(bytes, lane),
    async handshake(hello = {}) {
      await b.send(encodeFrame({ type: 'hello', version: MUX_VERSION, initialWindowBytes: 256 * 1024, maxItemBytes: 16 * 1024 * 1024, ...hello }))
      await session.ready
    },
    waitFor: ((what: string, match: (frame: Frame) => boolean, from = 0) => waitUntil(what, () => frames.slice(from).find(match))) as RawPeer['waitFor'],
    async barrier() {
      const payload = new Uint8Array(8)
      new DataView(payload.buffer).setUint32(4, ++pingCounter)
      payload[0] = 0xba // marks barrier pings apart from any payload a test uses
      await b.send(encodeFrame({ type: 'ping', payload })).catch(() => {})
      const isPong = (frame: Frame) => frame.type === 'pong' && frame.payload.every((byte, i) => byte === payload[i])
      return waitUntil('the barrier pong', () => (frames.some(isPong) ? true : session.state === 'closed' ? false : undefined))
    },
    async sendMessage(streamId, bytes, chunkBytes = 1024) {
      for (let offset = 0; offset < bytes.byteLength || (offset === 0 && bytes.byteLength === 0); ) {
        const size = Math.min(chunkBytes, bytes.byteLength - offset)
        await waitUntil(`credit on stream ${streamId}`, () => {
          const window = sessionWindowBytes ?? 0
          return (used.get(streamId) ?? 0) + size + DATA_FRAME_CREDIT_BYTES <= window + (granted.get(streamId) ?? 0) ? true : undefined
        })
        used.set(streamId, (used.get(streamId) ?? 0) + size + DATA_FRAME_CREDIT_BYTES)
        const fin = offset + size === bytes.byteLength
        await b.send(encodeFrame({ type: 'data', streamId, fin, payload: bytes.subarray(offset, offset + size) }))
        offset += size
        if (size === 0) break
      }
    },
    creditLeft: (streamId) => (sessionWindowBytes ?? 0) + (granted.get(streamId) ?? 0) - (used.get(streamId) ?? 0),
    async sendWhileCredit(streamId, totalBytes, { chunkBytes = 16 * 1024 - 6, idleMs = 100, framesPerBatch = 1 } = {}) {
      let sent = 0
      let idleSince = Date.now()
      while (sent < totalBytes && session.state !== 'closed') {
        const frames: Frame[] = []
        while (frames.length < framesPerBatch) {
          const size = Math.min(chunkBytes, totalBytes - sent, peer.creditLeft(streamId) - DATA_FRAME_CREDIT_BYTES)
          if (size <= 0) break
          used.set(streamId, (used.get(streamId) ?? 0) + size + DATA_FRAME_CREDIT_BYTES)
          frames.push({ type: 'data', streamId, fin: false, payload: new Uint8Array(size) })
          sent += size
        }
        if (frames.length === 0) {
          if (Date.now() - idleSince > idleMs) break
          await new Promise((resolve) => setTimeout(resolve, 1))
          continue
        }
        await b.send(frames.length === 1 ? encodeFrame(frames[0]!) : batchOf(frames))
        idleSince = Date.now()
      }
      return sent
    },
    async dispose() {
      session.abort('test over')
      b.close('test over')
      await linkClosed
    },
  }
  return peer
}

async function poll<T>(find: () => T | undefined, timeoutMessage: () => string): Promise<T> {
  const deadline = Date.now() + WAIT_LIMIT_MS
  for (;;) {
    const found = find()
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(timeoutMessage())
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}

/** Waits until `condition` holds (checked every millisecond or so), failing after a few seconds. */
export async function until(what: string, condition: () => boolean): Promise<void> {
  await poll(
    () => (condition() ? true : undefined),
    () => `timed out waiting for ${what}`,
  )
}

/** A fresh 8-byte payload for pings. */
export function pingPayload(seed: number): Uint8Array {
  return Uint8Array.from({ length: 8 }, (_, i) => (seed * 31 + i * 7) & 0xff)
}

/** One link message holding `frames` (encoded, or already bytes) as a batch, with no check of its size. */
export function batchOf(frames: ReadonlyArray<Frame | Uint8Array>): Uint8Array {
  const encoded = frames.map((frame) => (frame instanceof Uint8Array ? frame : encodeFrame(frame)))
  let length = BATCH_HEADER_BYTES
  for (const frame of encoded) length += BATCH_ENTRY_PREFIX_BYTES + frame.byteLength
  const bytes = new Uint8Array(length)
  bytes[0] = FrameType.batch
  let offset = BATCH_HEADER_BYTES
  for (const frame of encoded) {
    bytes[offset] = frame.byteLength >> 8
    bytes[offset + 1] = frame.byteLength & 0xff
    bytes.set(frame, offset + BATCH_ENTRY_PREFIX_BYTES)
    offset += BATCH_ENTRY_PREFIX_BYTES + frame.byteLength
  }
  return bytes
}

/** A `rawPeer` factory for a test file: every peer it made is disposed after each test. */
export function rawPeersDisposedAfterEach(): (...args: Parameters<typeof rawPeer>) => RawPeer {
  let peers: RawPeer[] = []
  afterEach(async () => {
    await Promise.all(peers.map((created) => created.dispose()))
    peers = []
  })
  return (...args) => {
    const created = rawPeer(...args)
    peers.push(created)
    return created
  }
}

/**
 * Collects what escapes as an uncaught exception or unhandled rejection during each test (emptied
 * before each): whatever a hostile peer sends, the session must let nothing escape.
 */
export function recordEscapes(): unknown[] {
  const escaped: unknown[] = []
  const record = (error: unknown) => void escaped.push(error)
  beforeEach(() => {
    escaped.length = 0
    process.on('uncaughtException', record)
    process.on('unhandledRejection', record)
  })
  afterEach(() => {
    process.off('uncaughtException', record)
    process.off('unhandledRejection', record)
  })
  return escaped
}
