/**
 * The built package as another project sees it: `node_modules/meshscope` (a symlink to this
 * checkout, standing in for an install) resolved through package.json `exports`. Node imports
 * `meshscope/node` and `meshscope/signaling`; Vite bundles `meshscope` for the browser without
 * pulling in any Node module. Needs `npm run build` first (npm test does it).
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, type Rollup } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const repo = fileURLToPath(new URL('../..', import.meta.url))

describe('installed package', () => {
  let project: string

  beforeAll(() => {
    project = mkdtempSync(join(tmpdir(), 'meshscope-consumer-'))
    mkdirSync(join(project, 'node_modules'))
    symlinkSync(repo, join(project, 'node_modules', 'meshscope'), 'dir')
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }))
  })

  afterAll(() => rmSync(project, { recursive: true, force: true }))

  it('Node imports meshscope/node and meshscope/signaling and forms a mesh', () => {
    writeFileSync(
      join(project, 'check.mjs'),
      `import { Mesh } from 'meshscope/node'
       import { createSignalingServer } from 'meshscope/signaling'
       const server = createSignalingServer({ port: 0, log: () => {} })
       await server.ready
       const url = server.address().url
       const [a, b] = await Promise.all([Mesh.join({ signaling: url, room: 'r' }), Mesh.join({ signaling: url, room: 'r' })])
       await new Promise((resolve) => (a.peers.length ? resolve() : a.on('peer:join', resolve)))
       console.log('peers', a.peers.length)
       await Promise.all([a.close(), b.close()])
       await server.close()`,
    )
    const result = spawnSync(process.execPath, ['check.mjs'], { cwd: project, encoding: 'utf8', timeout: 20_000 })
    expect(result.stderr).toBe('')
    expect(result.stdout.trim()).toBe('peers 1')
    expect(result.status).toBe(0)
  })

  it('Vite bundles meshscope for the browser with no Node module in it', async () => {
    mkdirSync(join(project, 'web'), { recursive: true })
    writeFileSync(join(project, 'web', 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>')
    writeFileSync(join(project, 'web', 'main.js'), "import { Mesh, Identity } from 'meshscope'\nglobalThis.meshscope = { Mesh, Identity }\n")
    const warnings: string[] = []
    const output = (await build({
      root: join(project, 'web'),
      configFile: false,
      logLevel: 'silent',
      build: { write: false, minify: false, rollupOptions: { onwarn: (warning) => void warnings.push(warning.message) } },
    })) as Rollup.RollupOutput
    const code = output.output
      .filter((chunk): chunk is Rollup.OutputChunk => chunk.type === 'chunk')
      .map((chunk) => chunk.code)
      .join('\n')
    expect(code).toContain('meshscope/hello/v')
    expect(code).not.toMatch(/from ["'](node:|ws|@roamhq)/)
    expect(code).not.toContain('__vite-browser-external')
    expect(warnings.filter((warning) => /externali[sz]ed/.test(warning))).toEqual([])
  })
})
