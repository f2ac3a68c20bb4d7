/**
 * The harness's remote-object and observable-collection controls (e2e/objects.test.ts), spread into
 * `window.harness` by harness.ts: mirror the Node peer's ObservableMap, mutate it through the remote
 * function it hands out, and fetch its 10 MB lazy blob with progress.
 */
import type { LazyBlob, MapChange, MapSubscription, Mesh, MirroredMap } from 'meshscope'

/** A score as the owner stores it: who set it and the value. */
export interface Score {
  score: number
  by: string
}

/** One mutation of the owner's map, applied by its remote function. */
export type ScoreOp = { op: 'set'; key: string; score: number } | { op: 'delete'; key: string } | { op: 'clear' }

/** What a mirror saw: its initial and final contents, whether it is done, and every change event in order. */
export interface MirrorReport {
  initial: Array<[string, Score]>
  entries: Array<[string, Score]>
  done: boolean
  error: string | undefined
  events: MapChange<string, Score>[]
}

/** What a lazy blob fetch saw: the announced size, the progress values, the bytes' length and SHA-256. */
export interface BlobReport {
  announcedSize: number
  progress: number[]
  progressSizes: number[]
  length: number
  sha256: string
}

/** Hex of a SHA-256 over WebCrypto. */
async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>))
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('')
}

export function objectsHarness(mesh: () => Mesh) {
  let mirror: MirroredMap<string, Score> | undefined
  let initial: Array<[string, Score]> = []
  const events: MapChange<string, Score>[] = []
  let reading: Promise<string | undefined> = Promise.resolve(undefined)

  return {
    /**
     * Mirrors the owner's map (the subscription comes back from a mailbox call) and reads its change
     * events from the start; resolves once the initial contents are here, with how many.
     */
    async mirrorScores(ownerId: string): Promise<number> {
      const subscription = await mesh().call<MapSubscription<string, Score>>(ownerId, 'e2e.scores.subscribe', 4096)
      mirror = subscription.mirror({ maxSize: 10_000, eventBuffer: 4096 })
      const mirrored = mirror
      // Started before the first event can arrive (the mirror applies events a turn later): sees every change.
      reading = (async () => {
        try {
          for await (const change of mirrored) events.push(change)
          return undefined
        } catch (error) {
          return `${(error as { code?: string }).code ?? ''} ${String(error)}`
        }
      })()
      await mirrored.whenComplete()
      initial = [...mirrored.value]
      return initial.length
    },
    /** Waits until the owner is done (or the mirror failed, or `timeoutMs` passed), then reports what the mirror saw. */
    async scoresMirrorReport(timeoutMs: number): Promise<MirrorReport> {
      const mirrored = mirror!
      let timer: ReturnType<typeof setTimeout> | undefined
      const readError = await Promise.race([
        reading,
        new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`not done after ${timeoutMs} ms`), timeoutMs))),
      ])
      clearTimeout(timer)
      return {
        initial,
        entries: [...mirrored.value],
        done: mirrored.done,
        error: mirrored.error ? `${mirrored.error.code}: ${mirrored.error.message}` : readError,
        events,
      }
    },
    /** Applies `ops` to the owner's map through the remote function it hands out, `parallel` calls at a time. */
    async mutateScores(ownerId: string, ops: ScoreOp[], parallel: number): Promise<boolean[]> {
      const { mutate } = await mesh().call<{ mutate: (op: ScoreOp) => Promise<boolean> }>(ownerId, 'e2e.scores.mutator', null)
      const results: boolean[] = []
      for (let start = 0; start < ops.length; start += parallel) {
        // Each batch lands before the next is sent, so the owner applies the batches in order.
        results.push(...(await Promise.all(ops.slice(start, start + parallel).map((op) => mutate(op)))))
      }
      return results
    },
    /** Fetches the owner's lazy blob with progress; the bytes' SHA-256 over WebCrypto. */
    async fetchBlob(ownerId: string): Promise<BlobReport> {
      const blob = await mesh().call<LazyBlob>(ownerId, 'e2e.blob', null)
      const announcedSize = blob.size
      const progress: number[] = []
      const progressSizes: number[] = []
      const bytes = await blob.get({
        maxBytes: 16 * 1024 * 1024,
        onProgress: (received, size) => {
          progress.push(received)
          progressSizes.push(size)
        },
      })
      blob.close()
      return { announcedSize, progress, progressSizes: [...new Set(progressSizes)], length: bytes.byteLength, sha256: await sha256Hex(bytes) }
    },
  }
}
