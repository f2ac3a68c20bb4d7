#!/usr/bin/env node
/**
 * `node scripts/bundle-size.mjs [name…]`: the size of a page that imports only these names (default:
 * `Mesh`) from 'meshscope', built by Vite (minified) as an app that installed this package would build it — `meshscope` is
 * resolved through a node_modules link to this repository, so its package.json (`exports`,
 * `sideEffects`) applies. Needs `npm run build` first (the package's entry is dist/). Prints the
 * JavaScript's bytes and gzip bytes; everything is written to a temporary folder, removed after.
 */
import { mkdtemp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'vite'

const root = fileURLToPath(new URL('..', import.meta.url))
const names = process.argv.length > 2 ? process.argv.slice(2) : ['Mesh']
const app = await mkdtemp(join(tmpdir(), 'meshscope-bundle-'))
try {
  await mkdir(join(app, 'node_modules'))
  await symlink(root, join(app, 'node_modules/meshscope'), 'dir')
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'bundle-size-app', private: true, type: 'module' }))
  await writeFile(join(app, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>\n')
  await writeFile(join(app, 'main.js'), `import { ${names.join(', ')} } from 'meshscope'\nglobalThis.used = [${names.join(', ')}]\n`)
  await build({
    configFile: false,
    root: app,
    logLevel: 'warn',
    build: { outDir: join(app, 'dist'), minify: true, emptyOutDir: true },
  })
  const assets = join(app, 'dist/assets')
  let bytes = 0
  let gzipBytes = 0
  for (const name of await readdir(assets)) {
    if (!name.endsWith('.js')) continue
    const code = await readFile(join(assets, name))
    bytes += code.byteLength
    gzipBytes += gzipSync(code, { level: 9 }).byteLength
  }
  console.log(JSON.stringify({ imports: names, bytes, gzipBytes }))
} finally {
  await rm(app, { recursive: true, force: true })
}
