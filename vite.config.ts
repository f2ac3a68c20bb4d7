/**
 * Vite for the demo page (demo/): `meshscope` resolves to this repository's source, so the demo runs
 * without a build, and the meshscope plugin handles inline scope hops. `npm start` (scripts/start.mjs) serves it; `npx vite build` writes demo-dist/.
 */
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import { meshscope } from './src/plugin/vite.js'

const fromRoot = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export default defineConfig({
  root: fromRoot('./demo'),
  // Inline scope hops (demo/hops/) are checked and registered at build time, with the same ids the
  // Node peer derives through the loader.
  plugins: [meshscope()],
  resolve: {
    // Exactly `meshscope`: `meshscope/node` and `meshscope/signaling` are not for the browser.
    alias: [{ find: /^meshscope$/, replacement: fromRoot('./src/index.ts') }],
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: false,
    fs: { allow: [fromRoot('.')] },
  },
  build: {
    outDir: '../demo-dist',
    emptyOutDir: true,
  },
})
