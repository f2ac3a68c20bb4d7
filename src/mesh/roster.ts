/**
 * The public keys of the peers this one may hear signals from, by id. In the full topology they come
 * from the signaling server (welcome, peer-joined); in the scamp topology also from the signals
 * themselves, which carry the sender's key. A key is used only if it hashes to the id it is listed
 * under (ids are self-certifying), so neither a hostile server nor a forged signal can swap one in.
 */
import { MeshscopeError } from '../errors.js'
import { importPublicKey } from '../identity/identity.js'
import type { PeerInfo } from '../signaling/protocol.js'

interface RosterEntry {
  publicKey: string
  /** Imported once; rejects with BAD_PUBLIC_KEY if it does not hash to the id. */
  key: Promise<CryptoKey>
}

/** Keys learnt from signals (scamp topology) are bounded: the oldest is dropped past this. */
const MAX_LEARNT_KEYS = 4096

export class Roster {
  #entries = new Map<string, RosterEntry>()

  constructor(private readonly selfId: string) {}

  has(id: string): boolean {
    return this.#entries.has(id)
  }

  ids(): IterableIterator<string> {
    return this.#entries.keys()
  }

  /** The key of `id`, verified against it, or undefined if it is not listed. */
  keyOf(id: string): Promise<CryptoKey> | undefined {
    return this.#entries.get(id)?.key
  }

  /** Lists a peer the signaling server named (its key is checked when a signal needs it). */
  add(peer: PeerInfo): void {
    if (peer.id === this.selfId) return
    if (this.#entries.get(peer.id)?.publicKey === peer.publicKey) return
    const key = importPublicKey(peer.publicKey).then(({ id, key }) => {
      if (id !== peer.id) throw new MeshscopeError('BAD_PUBLIC_KEY', `the server listed a key that does not hash to ${peer.id}`)
      return key
    })
    key.catch(() => {}) // reported when a signal from this peer needs it
    this.#entries.set(peer.id, { publicKey: peer.publicKey, key })
  }

  /**
   * Lists the sender of a signal by the key it carried (scamp topology), only if the key hashes to
   * its id; throws BAD_PUBLIC_KEY otherwise. At most MAX_LEARNT_KEYS are kept, oldest dropped first.
   */
  async learn(id: string, publicKey: string): Promise<void> {
    let imported: Awaited<ReturnType<typeof importPublicKey>>
    try {
      imported = await importPublicKey(publicKey)
    } catch (error) {
      throw new MeshscopeError('BAD_PUBLIC_KEY', `a signal from ${id} carries an invalid key`, { cause: error })
    }
    if (imported.id !== id) throw new MeshscopeError('BAD_PUBLIC_KEY', `a signal from ${id} carries a key that hashes to ${imported.id}`)
    this.add({ id, publicKey })
    if (this.#entries.size > MAX_LEARNT_KEYS) this.#entries.delete(this.#entries.keys().next().value!)
  }

  delete(id: string): void {
    this.#entries.delete(id)
  }

  clear(): void {
    this.#entries.clear()
  }
}
