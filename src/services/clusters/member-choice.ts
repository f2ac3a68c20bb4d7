/**
 * Which member of a cluster a request or a tunnel goes to. By spare capacity: what each member last
 * reported (its announcement, then every reply) minus this peer's requests in flight to it, ties
 * broken at random; the local member counts like any other.
 *
 * In a scamp room most members have no link to this peer, and a member's id may be made up (a
 * hostile member can gossip announcements for ids that never answer). So a member with an open link
 * (or this peer) is preferred: when an unlinked member reports more spare, a link to it is opened
 * beside (at most MEMBER_LINKS.maxAttempts at once) while the request goes to the best linked member;
 * a request waits for a link attempt only when no member is linked. A member whose attempt failed is
 * dropped from the directory for MEMBER_LINKS.unreachableCooldownMs.
 */
import { MeshscopeError } from '../../errors.js'
import type { ClusterDirectory } from './directory.js'
import type { ClusterHost } from './host.js'
import { MEMBER_LINKS } from './limits.js'

export class MemberChoice {
  /** This peer's requests in flight to each member, by cluster then member: subtracted from what it reported. */
  #inFlight = new Map<string, Map<string, number>>()
  /** On-demand link attempts made for clusters, by peer. */
  #linkAttempts = new Map<string, Promise<void>>()
  /** Members that refused a link (PEER_BUSY: at their maxLinks), until when: skipped, not struck off. */
  #busyUntil = new Map<string, number>()
  /** Settles what waits for a member when the mesh closes. */
  #onClose = new Set<(error: MeshscopeError) => void>()
  #closed = false

  constructor(
    private readonly host: ClusterHost,
    private readonly directory: ClusterDirectory,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * The member of `cluster` (not in `tried`) the next request goes to; waits for one until `deadline`
   * (NO_MEMBER), ABORTED by `signal`, MESH_CLOSED when the mesh closes; PEER_BUSY at once when every
   * member left refused a link for being at its maxLinks (busy members are skipped for
   * MEMBER_LINKS.busyRetryMs, never dropped from the directory).
   */
  async choose(cluster: string, tried: Set<string>, deadline: number, signal: AbortSignal | undefined): Promise<string> {
    for (;;) {
      const untried = this.directory.membersOf(cluster).filter((member) => !tried.has(member))
      if (untried.length === 0) {
        await this.#waitForChange(cluster, deadline, signal)
        continue
      }
      // A busy member that has a link after all (it opened one to this peer) is not skipped.
      const members = untried.filter((member) => !this.#isBusy(member) || this.#isReachable(member))
      if (members.length === 0) {
        throw new MeshscopeError('PEER_BUSY', `every member of "${cluster}" this peer has no link to refused one: they are at their maxLinks`)
      }
      const best = this.#mostSpare(members, cluster)
      if (this.#isReachable(best)) return best
      this.#attemptLink(best)
      const linked = members.filter((member) => this.#isReachable(member))
      if (linked.length > 0) return this.#mostSpare(linked, cluster)
      await this.#waitForChange(cluster, deadline, signal, Promise.race(this.#linkAttempts.values()))
    }
  }

  /**
   * The member the next request goes to when one can be had at once: the member with the most spare
   * capacity when it is reachable, else undefined (then `choose` waits, opens links, or gives up).
   * The common case — members known and linked — costs no promise.
   */
  pick(cluster: string, tried: Set<string> | undefined): string | undefined {
    const all = this.directory.membersOf(cluster)
    const members = tried ? all.filter((member) => !tried.has(member)) : all
    if (members.length === 0) return undefined
    const best = members.length === 1 ? members[0]! : this.#mostSpare(members, cluster)
    return this.#isReachable(best) ? best : undefined
  }

  /** Counts a request in flight to `member` until `untrack` is called with the same arguments. */
  track(member: string, cluster: string): void {
    let byMember = this.#inFlight.get(cluster)
    if (!byMember) this.#inFlight.set(cluster, (byMember = new Map()))
    byMember.set(member, (byMember.get(member) ?? 0) + 1)
  }

  untrack(member: string, cluster: string): void {
    const byMember = this.#inFlight.get(cluster)
    if (!byMember) return
    const left = (byMember.get(member) ?? 1) - 1
    if (left > 0) byMember.set(member, left)
    else if (byMember.delete(member) && byMember.size === 0) this.#inFlight.delete(cluster)
  }

  /** The mesh closes: whatever waits for a member fails with `error`. */
  close(error: MeshscopeError): void {
    this.#closed = true
    for (const settle of [...this.#onClose]) settle(error)
  }

  #mostSpare(members: string[], cluster: string): string {
    let best: string[] = []
    let bestSpare = Number.NEGATIVE_INFINITY
    const inFlight = this.#inFlight.get(cluster)
    for (const member of members) {
      const spare = this.directory.spareOf(member, cluster) - (inFlight?.get(member) ?? 0)
      if (spare > bestSpare) [best, bestSpare] = [[member], spare]
      else if (spare === bestSpare) best.push(member)
    }
    return best[Math.floor(Math.random() * best.length)]!
  }

  #isBusy(member: string): boolean {
    const until = this.#busyUntil.get(member)
    if (until === undefined) return false
    if (until > this.clock()) return true
    this.#busyUntil.delete(member)
    return false
  }

  /** This peer, a member with an open link, or any member where links do not open on demand. */
  #isReachable(member: string): boolean {
    return member === this.host.id() || !this.host.openLink || this.host.hasLink?.(member) !== false
  }

  /** Opens a link to `member` unless one is being opened or MEMBER_LINKS.maxAttempts are; a failure makes the member unreachable for a while. */
  #attemptLink(member: string): void {
    const openLink = this.host.openLink
    if (!openLink || this.#linkAttempts.has(member) || this.#linkAttempts.size >= MEMBER_LINKS.maxAttempts) return
    const attempt = openLink(member)
      .catch(() => 'failed' as const)
      .then(async (result) => {
        // 'refused' (no room for a link here) says nothing about the member: it stays, but the attempt
        // counts as going on for a while, so that what waits for it waits for a timer, not a microtask.
        if (result === 'refused' && !this.#closed) await pause(MEMBER_LINKS.refusedRetryMs)
        // 'busy' (the member refused: at its maxLinks) is an honest member's answer: skipped for a while, never struck off.
        if (result === 'busy' && !this.#closed) this.#markBusy(member)
        this.#linkAttempts.delete(member)
        if (result === 'failed' && !this.#closed) this.directory.unreachable(member, this.clock() + MEMBER_LINKS.unreachableCooldownMs)
      })
    this.#linkAttempts.set(member, attempt)
  }

  /** Bounded like the directory: the oldest mark goes first past MEMBER_LINKS.maxBusyMembers. */
  #markBusy(member: string): void {
    this.#busyUntil.delete(member)
    if (this.#busyUntil.size >= MEMBER_LINKS.maxBusyMembers) this.#busyUntil.delete(this.#busyUntil.keys().next().value!)
    this.#busyUntil.set(member, this.clock() + MEMBER_LINKS.busyRetryMs)
  }

  /** Resolves on the directory's next change (or when `also` settles); NO_MEMBER at the deadline, ABORTED, or MESH_CLOSED. */
  #waitForChange(cluster: string, deadline: number, signal: AbortSignal | undefined, also?: Promise<unknown>): Promise<void> {
    if (this.#closed) return Promise.reject(new MeshscopeError('MESH_CLOSED', 'the mesh is closed'))
    return new Promise<void>((resolve, reject) => {
      let settled = false
      const finish = (settle: () => void) => {
        if (settled) return
        settled = true
        stopWatching()
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        this.#onClose.delete(onClose)
        settle()
      }
      const stopWatching = this.directory.onChange(() => finish(resolve))
      void also?.then(() => finish(resolve))
      const waitMs = deadline - this.clock()
      const timer =
        waitMs === Number.POSITIVE_INFINITY
          ? undefined
          : setTimeout(
              () => finish(() => reject(new MeshscopeError('NO_MEMBER', `cluster "${cluster}" had no member within the timeout`))),
              Math.max(0, waitMs),
            )
      const onAbort = () => finish(() => reject(new MeshscopeError('ABORTED', 'the request was aborted', { cause: signal?.reason })))
      signal?.addEventListener('abort', onAbort, { once: true })
      const onClose = (error: MeshscopeError) => finish(() => reject(error))
      this.#onClose.add(onClose)
    })
  }
}

/** Resolves after `ms`, without keeping a Node process alive for it. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    ;(timer as { unref?: () => void }).unref?.()
  })
}
