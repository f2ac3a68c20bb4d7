/**
 * Who serves which clusters and subscribes to which topics, as this peer knows it: its own
 * membership, and what each peer last announced (full topology: every peer announces its whole
 * membership to each linked peer when the link opens and after every change, and a peer's entry goes
 * with its link; scamp topology: announcements also travel by gossip, refreshed every
 * GOSSIP_DIRECTORY.refreshMs, and an entry expires when not refreshed within its expiryMs). Every announcement is hostile input: it is refused (ANNOUNCEMENT_REFUSED)
 * when malformed, past DIRECTORY_LIMITS, or past the per-peer announcement rate, and an older one
 * (a lower `seq`, overtaken on the way) is ignored.
 */
import { MeshscopeError } from '../../errors.js'
import { TokenBucket } from '../../util/token-bucket.js'
import { DIRECTORY_LIMITS } from './limits.js'
import { announcementFromWire, clampSpare, type Announcement } from './protocol.js'

interface PeerEntry {
  /** Clock time after which the entry no longer counts (Infinity: until its link goes). */
  expiresAt: number
  seq: number
  clusters: Map<string, number>
  topics: Set<string>
}

export class ClusterDirectory {
  #peers = new Map<string, PeerEntry>()
  #rates = new Map<string, TokenBucket>()
  #localClusters = new Map<string, () => number>()
  #localTopics = new Set<string>()
  #changed = new Set<() => void>()
  /** Peers found unreachable, until when their announcements are ignored (oldest first; at most DIRECTORY_LIMITS.maxPeers). */
  #unreachableUntil = new Map<string, number>()

  constructor(
    private readonly selfId: string,
    private readonly clock: () => number = Date.now,
  ) {}

  // ── this peer's own membership ─────────────────────────────────────────────

  /** This peer serves `cluster`; `spare` reports its free capacity. */
  addLocalCluster(cluster: string, spare: () => number): void {
    this.#localClusters.set(cluster, spare)
    this.#notify()
  }

  removeLocalCluster(cluster: string): void {
    if (this.#localClusters.delete(cluster)) this.#notify()
  }

  addLocalTopic(topic: string): void {
    this.#localTopics.add(topic)
    this.#notify()
  }

  removeLocalTopic(topic: string): void {
    if (this.#localTopics.delete(topic)) this.#notify()
  }

  /** This peer's membership as an announcement numbered `seq`. */
  localAnnouncement(seq: number): Announcement {
    const clusters = new Map<string, number>()
    for (const [cluster, spare] of this.#localClusters) clusters.set(cluster, spare())
    return { seq, clusters, topics: new Set(this.#localTopics) }
  }

  // ── what peers announce ────────────────────────────────────────────────────

  /**
   * Takes `peerId`'s announcement (its wire value), valid until `expiresAt` (a scamp room's gossip)
   * or until the peer is dropped; returns the refusal when it is refused.
   */
  accept(peerId: string, value: unknown, expiresAt = Number.POSITIVE_INFINITY): MeshscopeError | undefined {
    this.prune()
    // Parsed first: a malformed announcement takes no place in the directory, not even a rate entry.
    const announcement = announcementFromWire(value)
    if (announcement instanceof MeshscopeError) return announcement
    if (this.#isUnreachable(peerId)) return undefined // ignored, not refused: nothing is wrong with the message
    if (!this.#rates.has(peerId) && this.#rates.size >= DIRECTORY_LIMITS.maxPeers && !this.#forgetIdleRate()) {
      return new MeshscopeError('ANNOUNCEMENT_REFUSED', `directory announcement refused: the directory holds ${DIRECTORY_LIMITS.maxPeers} peers`)
    }
    let rate = this.#rates.get(peerId)
    if (!rate)
      this.#rates.set(peerId, (rate = new TokenBucket(DIRECTORY_LIMITS.announcementBurst, 1000 / DIRECTORY_LIMITS.announcementsPerSecond, this.clock())))
    if (!rate.take(this.clock())) {
      return new MeshscopeError('ANNOUNCEMENT_REFUSED', `directory announcement refused: more than ${DIRECTORY_LIMITS.announcementsPerSecond} per second`)
    }
    const known = this.#peers.get(peerId)
    if (known && known.seq >= announcement.seq) {
      // The same membership heard again keeps it alive; an older one (a late copy) does not.
      if (known.seq === announcement.seq) known.expiresAt = Math.max(known.expiresAt, expiresAt)
      return undefined
    }
    this.#peers.set(peerId, { expiresAt, seq: announcement.seq, clusters: announcement.clusters, topics: announcement.topics })
    this.#notify()
    return undefined
  }

  /** Makes room for a new peer's rate entry by forgetting one of a peer with no directory entry (refused, or gone); false if all have one. */
  #forgetIdleRate(): boolean {
    for (const peerId of this.#rates.keys()) {
      if (this.#peers.has(peerId)) continue
      this.#rates.delete(peerId)
      return true
    }
    return false
  }

  /** Forgets `peerId` (its link went). */
  drop(peerId: string): void {
    this.#rates.delete(peerId)
    if (this.#peers.delete(peerId)) this.#notify()
  }

  /**
   * `peerId` could not be reached (its on-demand link failed, or its link timed out in a scamp room):
   * its entry goes, and its announcements are ignored until `until` or until `reachable(peerId)`.
   */
  unreachable(peerId: string, until: number): void {
    this.#unreachableUntil.delete(peerId)
    if (this.#unreachableUntil.size >= DIRECTORY_LIMITS.maxPeers) this.#unreachableUntil.delete(this.#unreachableUntil.keys().next().value!)
    this.#unreachableUntil.set(peerId, until)
    this.drop(peerId)
  }

  /** A link from `peerId` opened: its announcements count again. */
  reachable(peerId: string): void {
    this.#unreachableUntil.delete(peerId)
  }

  #isUnreachable(peerId: string): boolean {
    const until = this.#unreachableUntil.get(peerId)
    if (until === undefined) return false
    if (until > this.clock()) return true
    this.#unreachableUntil.delete(peerId)
    return false
  }

  /** Drops the entries whose time ran out (a scamp room's member that stopped refreshing: crashed or gone). */
  prune(now = this.clock()): void {
    let changed = false
    for (const [peerId, entry] of this.#peers) {
      if (entry.expiresAt > now) continue
      this.#peers.delete(peerId)
      this.#rates.delete(peerId)
      changed = true
    }
    if (changed) this.#notify()
  }

  /** A fresher figure of `peerId`'s spare capacity for `cluster` (from a reply). */
  updateSpare(peerId: string, cluster: string, spare: number): void {
    const clusters = this.#peers.get(peerId)?.clusters
    if (clusters?.has(cluster)) clusters.set(cluster, clampSpare(spare))
  }

  // ── questions ──────────────────────────────────────────────────────────────

  /** The members of `cluster`, this peer included when it serves it. */
  membersOf(cluster: string): string[] {
    const members = this.#localClusters.has(cluster) ? [this.selfId] : []
    const now = this.clock()
    for (const [peerId, entry] of this.#peers) if (entry.expiresAt > now && entry.clusters.has(cluster)) members.push(peerId)
    return members
  }

  /** The last spare capacity `peerId` reported for `cluster` (this peer's: its current one). */
  spareOf(peerId: string, cluster: string): number {
    if (peerId === this.selfId) return this.#localClusters.get(cluster)?.() ?? 0
    return this.#peers.get(peerId)?.clusters.get(cluster) ?? 0
  }

  /** The subscribers of `topic`, this peer included when it subscribes. */
  subscribersOf(topic: string): string[] {
    const subscribers = this.#localTopics.has(topic) ? [this.selfId] : []
    const now = this.clock()
    for (const [peerId, entry] of this.#peers) if (entry.expiresAt > now && entry.topics.has(topic)) subscribers.push(peerId)
    return subscribers
  }

  /** Every cluster and topic known, with its members (for tools and the demo). */
  snapshot(): { clusters: Record<string, string[]>; topics: Record<string, string[]> } {
    const clusters: Record<string, string[]> = {}
    const topics: Record<string, string[]> = {}
    for (const cluster of this.#localClusters.keys()) clusters[cluster] = [this.selfId]
    for (const topic of this.#localTopics) topics[topic] = [this.selfId]
    const now = this.clock()
    for (const [peerId, entry] of this.#peers) {
      if (entry.expiresAt <= now) continue
      for (const cluster of entry.clusters.keys()) (clusters[cluster] ??= []).push(peerId)
      for (const topic of entry.topics) (topics[topic] ??= []).push(peerId)
    }
    return { clusters, topics }
  }

  /** Calls `listener` after every change, local or announced, until the returned function is called. */
  onChange(listener: () => void): () => void {
    this.#changed.add(listener)
    return () => this.#changed.delete(listener)
  }

  #notify(): void {
    for (const listener of [...this.#changed]) listener()
  }
}
