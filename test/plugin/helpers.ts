/** Fixture helpers for the plugin tests. */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const fixturesDir = fileURLToPath(new URL('./fixtures/', import.meta.url))
export const repoDir = fileURLToPath(new URL('../../', import.meta.url))

export function fixture(name: string): { file: string; code: string } {
  const file = `${fixturesDir}${name}`
  return { file, code: readFileSync(file, 'utf8') }
}

/** 1-based line and column of the `occurrence`-th (0-based) appearance of `snippet` in `code`. */
export function locate(code: string, snippet: string, occurrence = 0): { line: number; column: number; index: number } {
  let index = -1
  for (let i = 0; i <= occurrence; i++) {
    index = code.indexOf(snippet, index + 1)
    if (index < 0) throw new Error(`"${snippet}" (occurrence ${occurrence}) is not in the fixture`)
  }
  const before = code.slice(0, index)
  const line = before.split('\n').length
  return { line, column: index - before.lastIndexOf('\n'), index }
}
