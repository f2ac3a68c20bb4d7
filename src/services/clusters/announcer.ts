/**
 * Announcing this peer's membership (the clusters it serves, the topics it subscribes to): to each
 * linked peer over the directory mailbox when a link opens and after every change (changes within
 * ANNOUNCE_INTERVAL_MS go together), and in a scamp room also by gossip, refreshed every
 * GOSSIP_DIRECTORY.refreshMs so the others' entries of this peer do not expire. What others announce
 * is taken by directory.ts.
 */
import { MeshscopeError } from '../../errors.js'
import type { ClusterDirectory } from './directory.js'
import type { ClusterHost } from './host.js'
import { ANNOUNCE_INTERVAL_MS, GOSSIP_DIRECTORY } from './limits.js'
import { DIRECTORY_MAILBOX, announcementToWire, refusalFromWire } from './protocol.js'

/** The key under which a gossiped value is a directory announcement (never handed to the application). */
export const GOSSIP_KEY = '__meshscope.clusters'

/** How long an announcement waits for each linked peer's acceptance (serve, subscribe and unsubscribe wait at most this). */
const ANNOUNCEMENT_TIMEOUT_MS = 2_000

export class MembershipAnnouncer {
  /**
   * This peer's announcement number. It starts from the clock, so a peer that restarts with the same
   * identity announces above what it announced before (numbers from 1 would be ignored as old).
   */
  #seq = Date.now()
  #announcing?: Promise<void>
  #announceTimer?: ReturnType<typeof setTimeout>
  #announced?: () => void
  #lastAnnouncedAt = Number.NEGATIVE_INFINITY
  #refreshTimer?: ReturnType<typeof setInterval>
  #closed = false

  /** `isMember`: whether this peer serves or subscribes to anything (only then is a refresh gossiped). */
  constructor(
    private readonly host: ClusterHost,
    private readonly directory: ClusterDirectory,
    private readonly isMember: () => boolean,
    private readonly clock: () => number = Date.now,
  ) {
    if (host.gossip) {
      // A scamp room: refresh this peer's entry everywhere, and let others' expire.
      this.#refreshTimer = setInterval(() => {
        this.directory.prune()
        if (this.isMember()) void this.announceTo([])
      }, GOSSIP_DIRECTORY.refreshMs)
      ;(this.#refreshTimer as { unref?: () => void }).unref?.()
    }
  }

  /** The announcement of the latest change, while one is waiting to go or going. */
  get pending(): Promise<void> | undefined {
    return this.#announcing
  }

  /** Every change is announced to every linked peer, at most once per ANNOUNCE_INTERVAL_MS: changes in between go together. */
  announceChange(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    if (this.#announcing) return this.#announcing
    const waitMs = Math.max(0, this.#lastAnnouncedAt + ANNOUNCE_INTERVAL_MS - this.clock())
    this.#announcing = new Promise<void>((resolve) => {
      this.#announced = resolve
      this.#announceTimer = setTimeout(() => {
        this.#announcing = undefined
        this.#announceTimer = undefined
        this.#announced = undefined
        this.#lastAnnouncedAt = this.clock()
        void this.announceTo(this.host.linkedPeers()).then(resolve)
      }, waitMs)
    })
    return this.#announcing
  }

  /** Announces this peer's membership to `peers` (and by gossip in a scamp room); resolves when each took it, refused it or did not answer in time. */
  async announceTo(peers: string[]): Promise<void> {
    if (this.#closed) return
    const announcement = announcementToWire(this.directory.localAnnouncement(++this.#seq))
    if (this.host.gossip) {
      try {
        this.host.gossip.publish({ [GOSSIP_KEY]: announcement })
      } catch (error) {
        this.host.report(error instanceof MeshscopeError ? error : new MeshscopeError('GOSSIP_TOO_LARGE', String(error)))
      }
    }
    await Promise.allSettled(
      peers.map(async (peerId) => {
        // A short wait of its own: a peer that never answers must not hold up serve() or subscribe().
        const refusal = refusalFromWire(await this.host.call(peerId, DIRECTORY_MAILBOX, announcement, { timeout: ANNOUNCEMENT_TIMEOUT_MS }))
        if (refusal) this.host.report(new MeshscopeError('ANNOUNCEMENT_REFUSED', `${peerId} refused this peer's directory announcement: ${refusal}`))
      }),
    )
  }

  /**
   * Tells every peer this one serves and subscribes to nothing any more (linked peers directly, a
   * scamp room by gossip as well), so its entries go at once instead of when they expire.
   */
  async announceLeaving(): Promise<void> {
    if (this.#closed) return
    clearTimeout(this.#announceTimer)
    const nothing = announcementToWire({ seq: ++this.#seq, clusters: new Map(), topics: new Set() })
    if (this.host.gossip) {
      try {
        this.host.gossip.publish({ [GOSSIP_KEY]: nothing })
      } catch {
        // The mesh is leaving: an announcement that cannot go simply expires at the others.
      }
    }
    await Promise.allSettled(this.host.linkedPeers().map((peerId) => this.host.call(peerId, DIRECTORY_MAILBOX, nothing, { timeout: ANNOUNCEMENT_TIMEOUT_MS })))
  }

  /** Nothing more is announced; a serve or subscribe waiting for an announcement returns. Idempotent. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#announceTimer)
    clearInterval(this.#refreshTimer)
    this.#announced?.()
  }
}
