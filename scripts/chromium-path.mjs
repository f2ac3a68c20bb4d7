/**
 * Where the system Chromium is: $CHROMIUM_PATH, then /usr/bin/chromium. Playwright cannot download its
 * own browsers on these machines, so e2e tests drive Debian's Chromium through playwright-core.
 */
import { accessSync, constants } from 'node:fs'

export const CHROMIUM_CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean)

export function findChromium() {
  for (const path of CHROMIUM_CANDIDATES) {
    try {
      accessSync(path, constants.X_OK)
      return path
    } catch {
      // try the next one
    }
  }
  return undefined
}

/** Launch flags that work on these machines (see FACTS.md): no sandbox as root, no network chatter, real IPs in ICE. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
]
