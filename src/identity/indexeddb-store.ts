/** Browser persistence: IndexedDB stores CryptoKey objects directly, so the private key never leaves WebCrypto. */
import type { IdentityStore } from './store.js'

export function indexedDbIdentityStore(name = 'default', databaseName = 'meshscope'): IdentityStore {
  const objectStore = 'identities'
  const open = () =>
    new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(databaseName, 1)
      request.onupgradeneeded = () => request.result.createObjectStore(objectStore)
      request.onsuccess = () => resolve(request.result)
      request.onerror = () => reject(request.error)
    })
  const run = async <T>(mode: IDBTransactionMode, action: (store: IDBObjectStore) => IDBRequest<T>) => {
    const db = await open()
    try {
      return await new Promise<T>((resolve, reject) => {
        const request = action(db.transaction(objectStore, mode).objectStore(objectStore))
        request.onsuccess = () => resolve(request.result)
        request.onerror = () => reject(request.error)
      })
    } finally {
      db.close()
    }
  }
  return {
    needsExtractableKeys: false,
    async load() {
      const stored = (await run('readonly', (store) => store.get(name))) as CryptoKeyPair | undefined
      return stored?.privateKey && stored.publicKey ? stored : undefined
    },
    async save(keyPair) {
      await run('readwrite', (store) => store.put({ privateKey: keyPair.privateKey, publicKey: keyPair.publicKey }, name))
    },
  }
}
