/**
 * The error codes stay honest: every code in the `ErrorCode` union (src/errors.ts) is raised
 * somewhere — its string literal appears in src/ or signaling/ outside errors.ts — and documented in
 * docs/errors.md, and docs/errors.md names no code that the union lacks.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const read = (path: string) => readFileSync(join(root, path), 'utf8')

function unionCodes(): string[] {
  const source = read('src/errors.ts')
  const union = /export type ErrorCode =([\s\S]*?)\n\n/.exec(source)?.[1] ?? ''
  return [...union.matchAll(/\|\s*'([A-Z][A-Z0-9_]*)'/g)].map((match) => match[1]!)
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => join(dir, file))
}

const codes = unionCodes()
const sources = [...sourceFiles('src'), ...sourceFiles('signaling')].filter((file) => relative('src/errors.ts', file) !== '').map((file) => read(file))
const docs = read('docs/errors.md')

describe('ErrorCode', () => {
  it('the union is read from src/errors.ts', () => {
    expect(codes.length).toBeGreaterThan(40)
    expect(codes).toContain('INVALID_ARGUMENT')
    expect(new Set(codes).size).toBe(codes.length)
  })

  it('every code is raised somewhere in src/ or signaling/', () => {
    const quoted = (code: string) => new RegExp(`['"\`]${code}['"\`]`)
    const unraised = codes.filter((code) => !sources.some((source) => quoted(code).test(source)))
    expect(unraised).toEqual([])
  })

  it('every code is documented in docs/errors.md', () => {
    const undocumented = codes.filter((code) => !docs.includes(`\`${code}\``))
    expect(undocumented).toEqual([])
  })

  it('docs/errors.md names no code the union lacks', () => {
    const named = new Set([...docs.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((match) => match[1]!))
    const unknown = [...named].filter((code) => !codes.includes(code))
    expect(unknown).toEqual([])
  })
})
