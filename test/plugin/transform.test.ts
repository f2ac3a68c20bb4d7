/**
 * transformHops over source fixtures: what it accepts, refuses and warns about (with locations in the
 * original source), the ids it derives, how it hoists nested bodies, and its source map.
 */
import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping'
import { describe, expect, it } from 'vitest'
import { transformHops } from '../../src/plugin/transform.js'
import { hashText } from '../../src/scope/registry.js'
import { fixture, fixturesDir, locate } from './helpers.js'

function run(name: string) {
  const { file, code } = fixture(name)
  const result = transformHops(code, file)
  if (!result) throw new Error(`${name}: no hop import found`)
  return { file, code, result }
}

const where = (diagnostics: Array<{ line: number; column: number; text: string }>) =>
  diagnostics.map(({ line, column, text }) => ({ at: `${line}:${column}`, text }))

describe('transformHops: checks', () => {
  it('a variable of the enclosing function used without being captured is an error at its first use', () => {
    const { file, result } = run('missing-capture.ts')
    expect(result.warnings).toEqual([])
    expect(result.errors).toHaveLength(1)
    const [error] = result.errors
    expect(error).toMatchObject({ file, line: 7, column: 20 })
    expect(error!.message).toBe(
      `${file}:7:20: the hop body uses quantity (7:20), discount (7:36) from an enclosing scope without capturing them: ` +
        'a hop body runs on another peer with only its captures, module-level bindings and globals. ' +
        'Capture them: hop(peer, { price, quantity, discount }, async ({ price, quantity, discount }, here) => …)',
    )
  })

  it('a captured variable the body never uses is a warning naming it', () => {
    const { file, code, result } = run('unused-capture.ts')
    expect(result.errors).toEqual([])
    const at = locate(code, 'verbose }')
    expect(result.warnings.map((w) => w.message)).toEqual([`${file}:${at.line}:${at.column}: hop captures verbose but the body never uses it`])
  })

  it('nested bodies are checked on their own: the inner one names what it misses, the outer one is not blamed', () => {
    const { code, result } = run('nested-missing.ts')
    const label = locate(code, 'label}@')
    const local = locate(code, 'local}`')
    expect(where(result.errors)).toEqual([
      {
        at: `${label.line}:${label.column}`,
        text: expect.stringMatching(
          new RegExp(`^the hop body uses label \\(${label.line}:${label.column}\\), local \\(${local.line}:${local.column}\\) from an enclosing scope`),
        ),
      },
    ])
    expect(result.ids).toHaveLength(2)
  })

  it('shadowing: body params, body locals and nested functions shadow outer names; a block that shadows an outer name still encloses the body', () => {
    const { code, result } = run('shadowing.ts')
    const blockLimit = locate(code, 'limit))')
    expect(where(result.errors)).toEqual([
      { at: `${blockLimit.line}:${blockLimit.column}`, text: expect.stringContaining('uses limit from an enclosing scope') },
    ])
    expect(result.warnings).toEqual([])
  })

  it('destructuring: captures destructured (renamed, defaulted, nested, rest) in the parameter, and patterns inside the body', () => {
    const { file, code, result } = run('destructuring.ts')
    const unit = locate(code, 'unit }]')
    const scale = locate(code, 'scale }) => point.x')
    expect(result.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(new RegExp(`^${file}:${unit.line}:${unit.column}: the hop body uses unit from an enclosing scope`)),
      `${file}:${scale.line}:${scale.column}: the hop body takes scale from its captures, but the captures ({ point }) do not have it`,
    ])
    expect(result.warnings).toEqual([])
  })

  it('module-level imports and declarations, and globals, are allowed', () => {
    const { result } = run('module-level.ts')
    expect(result.errors).toEqual([])
    expect(result.warnings).toEqual([])
    expect(result.ids).toHaveLength(2)
  })

  it("a captured variable must be taken from the body's parameter, not read from the enclosing scope", () => {
    const code = "import { hop } from 'meshscope'\nexport function f(peer, a) { return hop(peer, { a }, async () => a + 1) }\n"
    const result = transformHops(code, '/project/direct.js')!
    const use = locate(code, 'a + 1')
    expect(where(result.errors)).toEqual([
      {
        at: `2:${use.column}`,
        text: "the hop body uses a from the enclosing scope although it is captured: take it from the body's first parameter, as in async ({ a }, here) => …",
      },
    ])
    expect(where(result.warnings)).toEqual([{ at: `2:${locate(code, 'a }').column}`, text: 'hop captures a but the body never uses it' }])
  })

  it("a class expression's own name encloses the body (refused); a named function body's own name does not", () => {
    const code = [
      "import { hop } from 'meshscope'",
      'export const E = class Named { m(peer) { return hop(peer, {}, async () => Named) } }',
      'export function outer(peer) { return hop(peer, {}, async function inner() { return [inner, outer] }) }',
    ].join('\n')
    const result = transformHops(code, '/project/names.js')!
    expect(where(result.errors)).toEqual([{ at: `2:${locate(code, 'Named) }').column}`, text: expect.stringContaining('uses Named from an enclosing scope') }])
  })

  it("type-only imports and the enclosing function's types are allowed and not counted as captures", () => {
    const { result } = run('type-only.ts')
    expect(result.errors).toEqual([])
    expect(result.warnings).toEqual([])
  })

  it('a hop inside a loop must capture the loop variable', () => {
    const { code, result } = run('loop.ts')
    const item = locate(code, 'item.toUpperCase())')
    const i = locate(code, 'i)\n')
    expect(where(result.errors)).toEqual([
      { at: `${item.line}:${item.column}`, text: expect.stringContaining('uses item from an enclosing scope') },
      { at: `${i.line}:${i.column}`, text: expect.stringContaining('uses i from an enclosing scope') },
    ])
    expect(result.ids).toHaveLength(3)
  })

  it("an inline hop's allow moves to its registration, evaluated per hop; one that names a local variable is an error", () => {
    const { code, result } = run('allow.ts')
    const local = locate(code, '(callerId: string) => callerId === onlyMe')
    expect(where(result.errors)).toEqual([
      { at: `${local.line}:${local.column}`, text: expect.stringMatching(/^the hop's allow uses onlyMe from an enclosing scope: it runs on the serving peer/) },
    ])
    expect(result.code).toContain(', async ({ n }) => n * 2, { allow: (callerId) => (isTrusted)(callerId) });')
    expect(result.code).toContain(", async () => 'inline', { allow: (callerId) => ((callerId: string) => callerId.startsWith('a'))(callerId) });")
  })

  it('captures that are not an object literal of plain names are refused', () => {
    const { code, result } = run('non-shorthand.ts')
    const plain = 'hop captures must be an object literal of plain names, like { a, b }'
    const at = (snippet: string) => {
      const { line, column } = locate(code, snippet)
      return `${line}:${column}`
    }
    expect(where(result.errors)).toEqual([
      { at: at('a: 1 }'), text: `${plain}; \`a: 1\` is not a plain name` },
      { at: at('a: a }'), text: `${plain}; \`a: a\` is not a plain name` },
      { at: at('...extra'), text: `${plain}; \`...extra\` is not a plain name` },
      { at: at('[key]: a'), text: `${plain}; \`[key]: a\` is not a plain name` },
      { at: at('captures, async'), text: `${plain}; got \`captures\`` },
    ])
  })

  it('`this` and `arguments` in an arrow body are refused; inside a nested regular function they are allowed', () => {
    const { code, result } = run('this-arguments.ts')
    const self = locate(code, 'this.count)')
    const args = locate(code, 'arguments.length')
    expect(where(result.errors)).toEqual([
      {
        at: `${self.line}:${self.column}`,
        text: "a hop body cannot use `this`: in an arrow function it is the enclosing code's `this`, which does not travel to the other peer; capture the values it needs instead",
      },
      {
        at: `${args.line}:${args.column}`,
        text: "a hop body cannot use `arguments`: in an arrow function it is the enclosing function's, which do not travel to the other peer; capture the values it needs instead",
      },
    ])
  })

  it('`this` in a function-expression body, `super` and `new.target` in arrow bodies are refused', () => {
    const code = [
      "import { hop } from 'meshscope'",
      'class A extends Object {',
      '  m(peer) {',
      '    hop(peer, {}, async function () { return this })',
      '    hop(peer, {}, async () => super.toString())',
      '  }',
      '}',
      'function F(peer) { hop(peer, {}, async () => new.target) }',
    ].join('\n')
    const result = transformHops(code, '/project/a.js')!
    const at = (snippet: string) => {
      const { line, column } = locate(code, snippet)
      return `${line}:${column}`
    }
    expect(where(result.errors)).toEqual([
      {
        at: at('this })'),
        text: "a hop body cannot use `this`: it would not be the enclosing code's `this` on the other peer; capture the values it needs instead",
      },
      { at: at('super.'), text: expect.stringMatching(/^a hop body cannot use `super`: in an arrow function/) },
      { at: at('new.target'), text: expect.stringMatching(/^a hop body cannot use `new.target`: in an arrow function/) },
    ])
  })
})

describe('transformHops: rewriting', () => {
  it('hoists nested bodies to module-level registrations with ids from the original source', () => {
    const { code, result } = run('nested.ts')
    expect(result.errors).toEqual([])
    expect(result.warnings).toEqual([])
    const innermost = '({ thatArray, a }) => [thatArray, a + 2] as [number[], number]'
    const starts = [locate(code, 'async ({ clientId }, here)'), locate(code, 'async ({ a, serverId }, here)'), locate(code, innermost)]
    expect(result.ids.map((id) => id.replace(/#.*/, ''))).toEqual(starts.map(({ line, column }) => `test/plugin/fixtures/nested.ts:${line}:${column}`))
    // The hash is hashText of the body's original text (the inner bodies included, as written).
    expect(result.ids[2]).toBe(`test/plugin/fixtures/nested.ts:${starts[2]!.line}:${starts[2]!.column}#${hashText(innermost)}`)
    const outerEnd = code.lastIndexOf('})\n}') + 1
    expect(result.ids[0]).toMatch(new RegExp(`#${hashText(code.slice(starts[0]!.index, outerEnd))}$`))

    const out = result.code
    expect(out).toContain(
      `import { defineHop as __meshscope_defineHop } from "meshscope";\nconst __meshscope_hop_0 = __meshscope_defineHop(${JSON.stringify(result.ids[0])}, async ({ clientId }, here) => {`,
    )
    expect(out).toContain(`const __meshscope_hop_2 = __meshscope_defineHop(${JSON.stringify(result.ids[2])}, ${innermost});`)
    // Each call keeps its peer and captures and names its registration; outer bodies name the inner ones.
    expect(out).toContain('return hop(mesh.peer(serverId), { clientId }, __meshscope_hop_0)')
    expect(out).toContain('return hop(here.peer(clientId), { a, serverId }, __meshscope_hop_1)')
    expect(out).toContain('return hop(here.peer(serverId), { thatArray, a }, __meshscope_hop_2)')
    expect(out.match(/=>/g)).toHaveLength(code.match(/=>/g)!.length)
    // Registrations come right after the imports, before the code that uses them.
    expect(out.indexOf('const __meshscope_hop_2')).toBeLessThan(out.indexOf('export async function threeStep'))
  })

  it('ids are relative to the nearest package.json, or to `root`, and ignore CRLF line endings', () => {
    const { file, code, result } = run('nested.ts')
    expect(transformHops(code, file, { root: fixturesDir })!.ids.map((id) => id.replace(/:.*/, ''))).toEqual(['nested.ts', 'nested.ts', 'nested.ts'])
    expect(transformHops(code.replace(/\n/g, '\r\n'), file)!.ids).toEqual(result.ids)
    expect(transformHops(code.replace('a + 2] as', 'a + 3] as'), file)!.ids[2]).not.toBe(result.ids[2])
  })

  it('the source map leads positions in hoisted bodies back to the original line:col', () => {
    const { code, result } = run('nested.ts')
    const map = new TraceMap(JSON.parse(result.map.toString()))
    for (const snippet of ['Array.from', 'thatArray, a + 2]', 'here.id']) {
      const original = locate(code, snippet)
      const generated = locate(result.code, snippet)
      const traced = originalPositionFor(map, { line: generated.line, column: generated.column - 1 })
      expect({ snippet, line: traced.line, column: traced.column! + 1 }).toEqual({ snippet, line: original.line, column: original.column })
    }
    expect(result.map.sources).toEqual([fixture('nested.ts').file])
    expect(result.map.sourcesContent).toEqual([code])
  })

  it('a renamed import, meshscope/node, and a namespace import are recognised; a local function of the same name is not', () => {
    const { result } = run('renamed.ts')
    expect(result.errors).toEqual([])
    expect(result.ids).toHaveLength(2)
    expect(result.code).toContain('await go(mesh.peer(serverId), { n }, __meshscope_hop_0)')
    expect(result.code).toContain('await meshscope.hop(mesh.peer(serverId), { n }, __meshscope_hop_1)')
    expect(result.code).toContain('return go(mesh.peer(serverId), {}, () => 3)')
  })

  it('a file without a hop import is not touched (undefined); a hop with a defineHop block is left as it is', () => {
    const untouched = fixture('untouched.ts')
    expect(transformHops(untouched.code, untouched.file)).toBeUndefined()
    expect(transformHops('export const x = 1\n', '/project/x.ts')).toBeUndefined()
    expect(transformHops("import { hop } from 'not-meshscope'\nhop(p, {}, () => 1)\n", '/project/y.ts')).toBeUndefined()
    expect(transformHops("import type { hop } from 'meshscope'\n", '/project/z.ts')).toBeUndefined()
    const defined = run('defined-block.ts')
    expect(defined.result).toMatchObject({ code: defined.code, ids: [], errors: [], warnings: [] })
  })

  it('is idempotent, avoids names the file already uses, and reports a file that does not parse', () => {
    const { file, result } = run('nested.ts')
    expect(transformHops(result.code, file)).toMatchObject({ code: result.code, ids: [] })
    const taken = "import { hop } from 'meshscope'\nconst __meshscope_hop_0 = 1\nhop(p, {}, () => __meshscope_hop_0)\n"
    const renamed = transformHops(taken, '/project/taken.js')!
    expect(renamed.code).toContain('const ___meshscope_hop_0 = ___meshscope_defineHop(')
    expect(renamed.code).toContain('hop(p, {}, ___meshscope_hop_0)')
    const broken = transformHops("import { hop } from 'meshscope'\nhop(p, {}, () => {\n", '/project/broken.ts')!
    expect(broken.errors).toHaveLength(1)
    expect(broken.errors[0]!.message).toMatch(/^\/project\/broken\.ts:3:\d+: cannot parse this file to check its hops: /)
  })
})
