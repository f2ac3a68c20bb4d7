/** What service clusters need from the mesh: its mailboxes, calls, links and (in a scamp room) gossip. */
import type { MeshscopeError } from '../../errors.js'
import type { CallOptions } from '../../rpc/call.js'
import type { MailboxHandler } from '../mailboxes.js'
import type { Principal } from '../../identity/principal.js'

/** What clusters need from the mesh. */
export interface ClusterHost {
  /** This peer's id (a function: the mesh's identity is set after this object is made). */
  id(): string
  /** The peers with an open link: they get this peer's announcements. */
  linkedPeers(): string[]
  register(name: string, handler: MailboxHandler): () => void
  call(peerId: string, name: string, value: unknown, options: CallOptions): Promise<unknown>
  send(peerId: string, name: string, value: unknown): Promise<void>
  /** Throws MESH_CLOSED once the mesh is closing. */
  assertOpen(): void
  report(error: MeshscopeError): void
  /** The timeout of a request that does not say (the mesh's `callTimeoutMs`). */
  readonly callTimeoutMs: number
  /** Gossip to the whole room, in a scamp room only: the directory travels by it there. */
  readonly gossip?: { publish(value: unknown): string } | undefined
  /** Whether `peerId` has an open link (a scamp room; absent: every member is taken as reachable). */
  hasLink?(peerId: string): boolean
  /**
   * Opens a link to `peerId` on demand (a scamp room): 'open' once it is, 'failed' when the attempt
   * failed (the peer never answered), 'refused' when this peer had no room for another link, 'busy'
   * when the peer refused it (it has no room: PEER_BUSY).
   */
  openLink?(peerId: string): Promise<'open' | 'failed' | 'refused' | 'busy'>
  /** This peer's own verified principal, for the handlers it runs for itself (absent in a room without auth). */
  ownPrincipal?(): Principal | undefined
}
