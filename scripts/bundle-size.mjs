#!/usr/bin/env node
/**
 * `node scripts/bundle-size.mjs [name…]`: the size of a page that imports only these names (default:
 * `Mesh`) from 'meshscope', built by Vite (minified) as an app that installed this package would build it — `meshscope` is
 * resolved through a node_modules link to this repository, so its package.json (`exports`,
 * `sideEffects`) applies. Needs `npm run build` first (the package's entry is dist/). Prints the
 * JavaScript's bytes and gzip bytes, loaded at start and in lazy chunks (dynamic imports); everything is written to a temporary folder, removed after.
 */
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises'
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
  const output = await build({
    configFile: false,
    root: app,
    logLevel: 'warn',
    build: { outDir: join(app, 'dist'), minify: true, emptyOutDir: true },
  })
  // What the page loads at start (the entry and the chunks it imports statically), apart from the
  // chunks fetched only by a dynamic import (the scamp topology, for a Mesh).
  const chunks = new Map(
    (Array.isArray(output) ? output : [output])
      .flatMap((result) => result.output)
      .filter((item) => item.type === 'chunk')
      .map((chunk) => [chunk.fileName, chunk]),
  )
  const atStart = new Set()
  const visit = (fileName) => {
    if (atStart.has(fileName)) return
    atStart.add(fileName)
    for (const imported of chunks.get(fileName)?.imports ?? []) visit(imported)
  }
  for (const chunk of chunks.values()) if (chunk.isEntry) visit(chunk.fileName)
  const size = (fileNames) => {
    const codes = fileNames.map((fileName) => Buffer.from(chunks.get(fileName).code))
    return {
      bytes: codes.reduce((sum, code) => sum + code.byteLength, 0),
      gzipBytes: codes.reduce((sum, code) => sum + gzipSync(code, { level: 9 }).byteLength, 0),
    }
  }
  const lazy = [...chunks.keys()].filter((fileName) => !atStart.has(fileName))
  console.log(JSON.stringify({ imports: names, atStart: size([...atStart]), lazy: size(lazy) }))
} finally {
  await rm(app, { recursive: true, force: true })
}
