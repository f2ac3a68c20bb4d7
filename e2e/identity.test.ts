/**
 * Identity persistence in a real browser: a key pair stored in IndexedDB gives the same peer id after
 * a reload, and the signaling server accepts it (the mesh id equals the stored id). Different store
 * names are different identities.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SignalingProcess, Tab, freePort, launchChromium, openHarnessPage, startHarnessServer, storedIdentityId } from './support.js'

describe('identity persisted in IndexedDB', () => {
  let signaling: SignalingProcess
  let harness: { url: string; close(): Promise<void> }
  let browser: Browser

  beforeAll(async () => {
    signaling = await SignalingProcess.start(await freePort())
    harness = await startHarnessServer()
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
    await harness?.close()
    await signaling?.kill()
  })

  it('survives a reload, is distinct per name, and is the id the mesh joins with', async () => {
    const context = await browser.newContext()
    const page = await openHarnessPage(context, harness.url)
    const first = await storedIdentityId(page, 'tab-a')
    expect(first).toMatch(/^[0-9a-f]{32}$/)
    expect(await storedIdentityId(page, 'tab-a')).toBe(first)
    expect(await storedIdentityId(page, 'tab-b')).not.toBe(first)

    await page.reload()
    await page.waitForFunction(() => 'harness' in globalThis)
    expect(await storedIdentityId(page, 'tab-a')).toBe(first)

    const tab = await Tab.open(context, harness.url, signaling.url, 'identity', 'tab-a')
    expect(tab.id).toBe(first)
    await context.close()
  })
})
