/**
 * Remote objects and observable collections end to end (issue 15 §4). A Node peer (a separate
 * process, e2e/fixtures/objects-peer.mjs) owns an ObservableMap; two Chromium tabs mirror it (the
 * subscription comes back from a mailbox call) while a third tab mutates it through a remote function
 * the owner hands out. After the owner's `done()` both mirrors hold the owner's map, are `done`, and
 * saw every change event the owner made, in order. Then a tab fetches the Node peer's 10 MB lazy blob
 * of random bytes with progress: the progress rises to the size and the SHA-256 (WebCrypto on both
 * sides) matches.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BlobReport, MirrorReport, ScoreOp, objectsHarness } from './harness/objects.js'
import { ObjectsNodePeer, SignalingProcess, Tab, freePort, launchChromium, startHarnessServer, waitFor } from './support.js'

/** Inside page.evaluate: the harness's object controls (e2e/harness/objects.ts). */
type ObjectsGlobal = { harness: ReturnType<typeof objectsHarness> }

const BLOB_BYTES = 10 * 1024 * 1024

/**
 * 217 changes: sets that add and overwrite, deletes (two of keys that are not there, which change
 * nothing), a clear, and sets after it.
 */
function scoreOps(): ScoreOp[] {
  const ops: ScoreOp[] = []
  for (let i = 0; i < 120; i++) ops.push({ op: 'set', key: `k${i % 40}`, score: i })
  for (let i = 0; i < 36; i += 3) ops.push({ op: 'delete', key: `k${i}` })
  ops.push({ op: 'delete', key: 'seed3' }, { op: 'delete', key: 'missing' }, { op: 'clear' })
  for (let i = 0; i < 80; i++) ops.push({ op: 'set', key: `k${i % 30}`, score: 1000 + i })
  ops.push({ op: 'delete', key: 'k1' }, { op: 'delete', key: 'k5' }, { op: 'delete', key: 'k9' }, { op: 'delete', key: 'k1' })
  return ops
}

let signaling: SignalingProcess
let harness: { url: string; close(): Promise<void> }
let browser: Browser
let owner: ObjectsNodePeer
const tabs: Tab[] = []

beforeAll(async () => {
  signaling = await SignalingProcess.start(await freePort())
  harness = await startHarnessServer()
  browser = await launchChromium()
  owner = await ObjectsNodePeer.start(signaling.url, 'e2e-objects')
  for (let i = 0; i < 3; i++) tabs.push(await Tab.open(browser, harness.url, signaling.url, 'e2e-objects'))
  await waitFor('every tab to link to the owner', async () => (await Promise.all(tabs.map((tab) => tab.peers()))).every((peers) => peers.includes(owner.id)))
})

afterAll(async () => {
  await owner?.stop()
  await browser?.close()
  await harness?.close()
  await signaling?.kill()
})

describe('remote objects between Chromium tabs and a Node peer', () => {
  it('two tabs mirror the Node peer’s map while a third mutates it; after done() both equal it', async () => {
    const started = performance.now()
    const [mirrorA, mirrorB, mutator] = tabs as [Tab, Tab, Tab]
    const mirrors = [mirrorA, mirrorB]
    const initialSizes = await Promise.all(
      mirrors.map((tab) => tab.page.evaluate((ownerId) => (globalThis as unknown as ObjectsGlobal).harness.mirrorScores(ownerId), owner.id)),
    )
    expect(initialSizes).toEqual([10, 10])
    expect(await owner.call('subscriberCount')).toBe(2)

    const ops = scoreOps()
    const results = await mutator.page.evaluate(
      ([ownerId, changes]) => (globalThis as unknown as ObjectsGlobal).harness.mutateScores(ownerId as string, changes as ScoreOp[], 8),
      [owner.id, ops] as const,
    )
    // Every op ran once: only the two deletes of absent keys changed nothing.
    expect(results).toHaveLength(ops.length)
    expect(results.filter((changed) => !changed)).toHaveLength(2)

    expect(await owner.call('done')).toBe(true)
    const [ownerEntries, applied] = await Promise.all([
      owner.call<Array<[string, { score: number; by: string }]>>('entries'),
      owner.call<MirrorReport['events']>('applied'),
    ])
    expect(applied).toHaveLength(ops.length - 2)
    expect(ownerEntries.length).toBeGreaterThan(0)
    for (const [, value] of ownerEntries) expect(value.by).toBe(mutator.id)

    const reports = await Promise.all(
      mirrors.map((tab) => tab.page.evaluate((timeoutMs) => (globalThis as unknown as ObjectsGlobal).harness.scoresMirrorReport(timeoutMs), 15_000)),
    )
    for (const report of reports) {
      expect(report.error).toBeUndefined()
      expect(report.done).toBe(true)
      expect(report.initial.map(([key]) => key)).toEqual(Array.from({ length: 10 }, (_, i) => `seed${i}`))
      expect(report.entries).toEqual(ownerEntries)
      expect(report.events).toHaveLength(applied.length)
      expect(report.events).toEqual(applied)
    }
    // done() ended every feed: the owner holds no subscriber.
    expect(await owner.call('subscriberCount')).toBe(0)
    console.log(
      `[e2e objects] ${applied.length} changes mirrored by 2 tabs, ${ownerEntries.length} entries at done, in ${Math.round(performance.now() - started)} ms`,
    )
  })

  it('a tab fetches the Node peer’s 10 MB lazy blob with progress, byte-exact', async () => {
    const started = performance.now()
    const expected = await owner.call<{ size: number; sha256: string }>('blob')
    expect(expected.size).toBe(BLOB_BYTES)
    const report: BlobReport = await tabs[0]!.page.evaluate((ownerId) => (globalThis as unknown as ObjectsGlobal).harness.fetchBlob(ownerId), owner.id)
    expect(report.announcedSize).toBe(BLOB_BYTES)
    expect(report.progressSizes).toEqual([BLOB_BYTES])
    // Progress is reported as chunks arrive, not once at the end, and rises strictly to the size.
    expect(report.progress.length).toBeGreaterThan(1)
    for (let i = 1; i < report.progress.length; i++) expect(report.progress[i]!).toBeGreaterThan(report.progress[i - 1]!)
    expect(report.progress.at(-1)).toBe(BLOB_BYTES)
    expect(report.length).toBe(BLOB_BYTES)
    expect(report.sha256).toBe(expected.sha256)
    const ms = performance.now() - started
    console.log(`[e2e objects] 10 MB lazy blob fetched by a tab in ${Math.round(ms)} ms (${report.progress.length} progress reports)`)
  })
})
