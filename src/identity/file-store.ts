/** Node persistence: the key pair as JWK in a file readable only by its owner. */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { IdentityStore } from './store.js'

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const

export function fileIdentityStore(path: string): IdentityStore {
  return {
    needsExtractableKeys: true,
    async load() {
      let text: string
      try {
        text = await readFile(path, 'utf8')
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw error
      }
      const { privateKey, publicKey } = JSON.parse(text) as { privateKey: JsonWebKey; publicKey: JsonWebKey }
      return {
        privateKey: await crypto.subtle.importKey('jwk', privateKey, ALGORITHM, true, ['sign']),
        publicKey: await crypto.subtle.importKey('jwk', publicKey, ALGORITHM, true, ['verify']),
      }
    },
    async save(keyPair) {
      const json = JSON.stringify({
        privateKey: await crypto.subtle.exportKey('jwk', keyPair.privateKey),
        publicKey: await crypto.subtle.exportKey('jwk', keyPair.publicKey),
      })
      await mkdir(dirname(path), { recursive: true })
      // Write then rename, so a crash never leaves half a key behind.
      const temporary = `${path}.${process.pid}.tmp`
      await writeFile(temporary, json, { mode: 0o600 })
      await chmod(temporary, 0o600)
      await rename(temporary, path)
    },
  }
}
