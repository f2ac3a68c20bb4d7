/**
 * Where an identity's key pair lives between runs. Identities are ephemeral unless a store is used:
 * `indexedDbIdentityStore` in browsers (keys stay non-extractable), `fileIdentityStore` in Node.
 */
import { MeshscopeError } from '../errors.js'
import { Identity } from './identity.js'

export interface IdentityStore {
  /** The stored key pair, or undefined when there is none yet. */
  load(): Promise<CryptoKeyPair | undefined>
  save(keyPair: CryptoKeyPair): Promise<void>
  /** Whether the store needs extractable keys (a file does; IndexedDB stores CryptoKeys as they are). */
  readonly needsExtractableKeys: boolean
}

/** Loads the identity in `store`, or creates one and saves it there. */
export async function loadOrCreateIdentity(store: IdentityStore): Promise<Identity> {
  let keyPair: CryptoKeyPair | undefined
  try {
    keyPair = await store.load()
  } catch (cause) {
    throw new MeshscopeError('IDENTITY_STORE_FAILED', 'could not load the stored identity', { cause })
  }
  if (keyPair) return Identity.fromKeyPair(keyPair)
  const identity = await Identity.generate({ extractable: store.needsExtractableKeys })
  try {
    await store.save(identity.keyPair)
  } catch (cause) {
    throw new MeshscopeError('IDENTITY_STORE_FAILED', 'could not save the new identity', { cause })
  }
  return identity
}
