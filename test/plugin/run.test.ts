/**
 * The transformed code runs, and every way of building it registers the same ids: the transform plus
 * type stripping in-process, the Node loader (`node --import meshscope/register`), and a Vite build with
 * the plugin. The three-step fixture (three nested hops) runs for real on a Node mesh, hopping to
 * itself. Everything runs in child processes from a throwaway project whose node_modules/meshscope
 * links to this checkout's build (npm test builds first).
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build, type Rollup } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stripTypes, withInlineMap } from '../../src/plugin/strip-types.js'
import { transformHops } from '../../src/plugin/transform.js'
import { meshscope } from '../../src/plugin/vite.js'
import { fixture, fixturesDir, repoDir } from './helpers.js'

const register = join(repoDir, 'dist/src/plugin/register.js')

const RUN_THREE_STEP = `
import { pathToFileURL } from 'node:url'
import { resolve } from 'node:path'
import { createSignalingServer } from 'meshscope/signaling'
import { Mesh } from 'meshscope/node'
const { registeredHopIds } = await import(${JSON.stringify(join(repoDir, 'dist/src/scope/registry.js'))})
const { threeStep } = await import(pathToFileURL(resolve(process.argv[2])).href)
const server = createSignalingServer({ port: 0, log: () => {} })
await server.ready
const mesh = await Mesh.join({ signaling: server.address().url, room: 'plugin' })
try {
  const [array, b] = await threeStep(mesh, mesh.id)
  console.log(JSON.stringify({ ids: registeredHopIds(), length: array.length, all42: array.every((x) => x === 42), b }))
} finally {
  await mesh.close()
  await server.close()
}
`

function node(args: string[], cwd: string) {
  const result = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 30_000 })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

describe('transformed hops run', () => {
  let project: string
  const source = (name: string) => join(project, 'src', name)

  beforeAll(() => {
    if (!existsSync(register)) throw new Error('run `npm run build` first: these tests run the built loader')
    project = mkdtempSync(join(tmpdir(), 'meshscope-plugin-'))
    mkdirSync(join(project, 'node_modules'))
    mkdirSync(join(project, 'src'))
    mkdirSync(join(project, 'out'))
    symlinkSync(repoDir, join(project, 'node_modules', 'meshscope'), 'dir')
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'plugin-consumer', type: 'module', private: true }))
    writeFileSync(join(project, 'run-three-step.mjs'), RUN_THREE_STEP)
    for (const name of ['nested.ts', 'print-id.ts', 'missing-capture.ts', 'unused-capture.ts']) copyFileSync(join(fixturesDir, name), source(name))
  })

  afterAll(() => rmSync(project, { recursive: true, force: true }))

  function expectThreeStep(output: { status: number | null; stdout: string; stderr: string }, ids: string[]) {
    expect(output.stderr).toBe('')
    expect(output.status).toBe(0)
    expect(JSON.parse(output.stdout)).toEqual({ ids, length: 43, all42: true, b: 44 })
  }

  it('the same file gives the same registered ids through the transform, the Node loader and a Vite build, and runs', async () => {
    const { code } = fixture('nested.ts')
    const transformed = transformHops(code, source('nested.ts'))!
    expect(transformed.ids).toEqual([
      expect.stringMatching(/^src\/nested\.ts:7:49#[0-9a-f]{16}$/),
      expect.stringMatching(/^src\/nested\.ts:10:54#[0-9a-f]{16}$/),
      expect.stringMatching(/^src\/nested\.ts:12:57#[0-9a-f]{16}$/),
    ])

    // In-process: transform, strip types, write a .mjs, run it.
    const stripped = stripTypes(transformed.code, source('nested.ts'), transformed.map)
    writeFileSync(join(project, 'out', 'nested.mjs'), withInlineMap(stripped.code, stripped.map))
    expectThreeStep(node(['run-three-step.mjs', 'out/nested.mjs'], project), transformed.ids)

    // The Node loader, straight from the .ts file.
    expectThreeStep(node(['--import', register, 'run-three-step.mjs', 'src/nested.ts'], project), transformed.ids)

    // Vite with the plugin (meshscope left external, as the page would load it).
    const warnings: string[] = []
    const output = (await build({
      root: project,
      configFile: false,
      logLevel: 'silent',
      plugins: [meshscope()],
      build: {
        write: false,
        minify: false,
        lib: { entry: source('nested.ts'), formats: ['es'], fileName: 'nested' },
        rollupOptions: { external: [/^meshscope/], onwarn: (warning) => void warnings.push(warning.message) },
      },
    })) as Rollup.RollupOutput[] | Rollup.RollupOutput
    const chunks = (Array.isArray(output) ? output : [output])
      .flatMap((result) => result.output)
      .filter((item): item is Rollup.OutputChunk => item.type === 'chunk')
    expect(chunks).toHaveLength(1)
    expect(warnings).toEqual([])
    writeFileSync(join(project, 'out', 'nested.vite.mjs'), chunks[0]!.code)
    expectThreeStep(node(['run-three-step.mjs', 'out/nested.vite.mjs'], project), transformed.ids)
  })

  it('node --import meshscope/register runs a .ts file with an inline hop, which sends its registered id', () => {
    const expected = transformHops(fixture('print-id.ts').code, source('print-id.ts'))!.ids
    expect(expected).toEqual([expect.stringMatching(/^src\/print-id\.ts:19:46#[0-9a-f]{16}$/)])
    const run = node(['--import', register, 'src/print-id.ts'], project)
    expect(run.stderr).toBe('')
    expect(run.stdout).toBe(`hop-id ${expected[0]}\nechoed {"greeting":"hi"}\n`)
    expect(run.status).toBe(0)
    // The same through the package's export, as a user would write it.
    expect(node(['--import', 'meshscope/register', 'src/print-id.ts'], project).stdout).toBe(run.stdout)
  })

  it('the package exports meshscope/vite and meshscope/register', () => {
    const check = node(
      [
        '--input-type=module',
        '-e',
        "const m = await import('meshscope/vite'); const p = m.meshscope(); console.log(p.name, p.enforce, m.default === m.meshscope); await import('meshscope/register')",
      ],
      project,
    )
    expect(check.stderr).toBe('')
    expect(check.stdout).toBe('meshscope pre true\n')
  })

  it('the loader resolves ./x.js to x.ts, and maps stack traces back to the original source', () => {
    // `new` is at column 36 of the TypeScript; stripping `(): string` moves it, the map brings it back.
    writeFileSync(source('helper.ts'), 'export const where = (): string => new Error("here").stack!.split("\\n")[1]!.trim()\n')
    writeFileSync(source('uses-helper.ts'), "import { where } from './helper.js'\nconst padding: number = 1\nconsole.log(where(), padding)\n")
    const run = node(['--enable-source-maps', '--import', register, 'src/uses-helper.ts'], project)
    expect(run.stderr).toBe('')
    expect(run.stdout).toMatch(new RegExp(`^at where \\(${source('helper.ts').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:1:36\\) 1\\n$`))
  })

  it('the loader refuses a file whose hops fail the checks, naming file:line:col, and prints warnings', () => {
    const refused = node(['--import', register, 'src/missing-capture.ts'], project)
    expect(refused.status).toBe(1)
    expect(refused.stderr).toContain('HopBuildError')
    expect(refused.stderr).toContain(
      `${source('missing-capture.ts')}:7:20: the hop body uses quantity (7:20), discount (7:36) from an enclosing scope without capturing them`,
    )
    const warned = node(['--import', register, 'src/unused-capture.ts'], project)
    expect(warned.status).toBe(0)
    expect(warned.stderr).toBe(`meshscope: warning: ${source('unused-capture.ts')}:5:43: hop captures verbose but the body never uses it\n`)
  })

  it('the Vite plugin fails the build with file:line:col, and passes warnings to Vite', async () => {
    const options = (entry: string, warnings: string[]) => ({
      root: project,
      configFile: false as const,
      logLevel: 'silent' as const,
      plugins: [meshscope()],
      build: {
        write: false,
        lib: { entry, formats: ['es' as const], fileName: 'x' },
        rollupOptions: { external: [/^meshscope/], onwarn: (warning: { message: string }) => void warnings.push(warning.message) },
      },
    })
    const failure = await build(options(source('missing-capture.ts'), [])).then(
      () => undefined,
      (error: unknown) => error as Error,
    )
    expect(failure).toBeInstanceOf(Error)
    expect(failure!.message).toContain(`${source('missing-capture.ts')}:7:20: the hop body uses quantity (7:20), discount (7:36)`)
    const warnings: string[] = []
    await build(options(source('unused-capture.ts'), warnings))
    expect(warnings).toEqual([expect.stringContaining(`${source('unused-capture.ts')}:5:43: hop captures verbose but the body never uses it`)])
  })
})
