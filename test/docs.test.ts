/**
 * The docs cite only files that exist: every repository path in README.md, docs/*.md and
 * bench/README.md (a word starting with one of the top-level folders, like `src/mux/frame.ts`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const FOLDERS = ['src', 'signaling', 'test', 'e2e', 'bench', 'docs', 'scripts', 'demo', 'cli', 'sim', 'bin']
// Not inside another path (node_modules/.cache/meshscope-bench/…, /usr/bin/…) and no glob.
const CITED = new RegExp(`(?<![\\w./-])(?:${FOLDERS.join('|')})/[\\w./-]*\\w`, 'g')

const documents = [
  'README.md',
  'bench/README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((file) => file.endsWith('.md'))
    .map((file) => `docs/${file}`),
]

it('every path the docs cite exists', () => {
  const missing = documents.flatMap((document) =>
    [...readFileSync(join(root, document), 'utf8').matchAll(CITED)]
      .map((match) => match[0])
      .filter((path) => !existsSync(join(root, path)))
      .map((path) => `${document}: ${path}`),
  )
  expect(missing).toEqual([])
})
