/**
 * What a browser app gets from `npm install meshscope`: the packed tarball installed into a fresh app.
 * Only meshscope and its two dependencies land in node_modules — no native WebRTC build, no Babel, no
 * sucrase (optional peer dependencies, for the entry points that need them) — and those entry points
 * say what to install when they are missing.
 *
 * Offline, as every test here: npm 11 resolves a version range from the registry's full package
 * document, which `npm ci` does not cache (it fetches tarballs by integrity). So the app is given the
 * packages meshscope depends on as tarballs packed from this checkout's node_modules (npm then
 * resolves meshscope's dependencies to them, as it would to the registry's copies), and npm runs with
 * `--offline` and a proxy that refuses every connection: a package nobody provided — say, a build
 * tool moved back into "dependencies" — fails the install with npm's ENOTCACHED naming it.
 * Needs `npm run build` first (npm test does it): the tarball is packed with --ignore-scripts, because
 * `prepare` would rebuild dist/ under the other test files that read it.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LOADER_PACKAGES, TRANSFORM_PACKAGES } from '../../src/plugin/build-dependencies.js'

const repo = fileURLToPath(new URL('../..', import.meta.url))

interface PackageJson {
  dependencies?: Record<string, string>
  devDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
}
const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as PackageJson

/** A closed port (discard): any connection npm tries fails at once instead of reaching the registry. */
const NO_NETWORK = 'http://127.0.0.1:9'

/** `npm run` sets npm_* variables that describe this project; the npm run here works on another one. */
function npmEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HTTP_PROXY: NO_NETWORK,
    HTTPS_PROXY: NO_NETWORK,
    npm_config_proxy: NO_NETWORK,
    npm_config_https_proxy: NO_NETWORK,
  }
  for (const name of Object.keys(env)) if (/^npm_(package_|lifecycle_|config_local_prefix$)/.test(name)) delete env[name]
  return env
}

function npm(args: string[], cwd: string): string {
  const result = spawnSync('npm', args, { cwd, env: npmEnvironment(), encoding: 'utf8', timeout: 60_000 })
  if (result.status !== 0) throw new Error(`npm ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stderr}`)
  return result.stdout
}

/** Packs `directory` into `destination` and returns the tarball's path. */
function pack(directory: string, destination: string): string {
  const [packed] = JSON.parse(npm(['pack', directory, '--ignore-scripts', '--json', '--pack-destination', destination], repo)) as { filename: string }[]
  return join(destination, packed!.filename)
}

/** Every package under `node_modules`, nested ones included, by name. */
function installedPackages(nodeModules: string): string[] {
  if (!existsSync(nodeModules)) return []
  const names: string[] = []
  for (const entry of readdirSync(nodeModules)) {
    if (entry.startsWith('.')) continue
    const scoped = entry.startsWith('@') ? readdirSync(join(nodeModules, entry)).map((name) => `${entry}/${name}`) : [entry]
    for (const name of scoped) names.push(name, ...installedPackages(join(nodeModules, name, 'node_modules')))
  }
  return names.sort()
}

describe('npm install of the packed package into a browser app', () => {
  let workDir: string
  let app: string

  const node = (args: string[]): SpawnSyncReturns<string> => spawnSync(process.execPath, args, { cwd: app, encoding: 'utf8', timeout: 20_000 })

  beforeAll(() => {
    if (!existsSync(join(repo, 'dist/src/index.js'))) throw new Error('run `npm run build` first: this test packs the built package')
    workDir = mkdtempSync(join(tmpdir(), 'meshscope-install-'))
    app = join(workDir, 'app')
    mkdirSync(app)
    const tarball = pack(repo, workDir)
    const dependencies = Object.fromEntries(
      Object.keys(manifest.dependencies ?? {}).map((name) => [name, `file:${pack(join(repo, 'node_modules', name), workDir)}`]),
    )
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'browser-app', private: true, type: 'module', dependencies }))
    npm(['install', '--offline', '--no-audit', '--no-fund', tarball], app)
  }, 120_000)

  afterAll(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true })
  })

  it('node_modules holds meshscope, @msgpack/msgpack, jose and ws: no native module, no build tool', () => {
    expect(installedPackages(join(app, 'node_modules'))).toEqual(['@msgpack/msgpack', 'jose', 'meshscope', 'ws'])
  })

  it('the app imports meshscope, and meshscope/signaling', () => {
    const result = node([
      '--input-type=module',
      '-e',
      "const { Mesh } = await import('meshscope'); const { createSignalingServer } = await import('meshscope/signaling'); console.log(typeof Mesh.join, typeof createSignalingServer)",
    ])
    expect(result.stderr).toBe('')
    expect(result.stdout.trim()).toBe('function function')
  })

  it('meshscope/node without @roamhq/wrtc fails at import with PLATFORM_MISSING and the npm command', () => {
    const result = node([
      '--input-type=module',
      '-e',
      "try { await import('meshscope/node') } catch (error) { console.log(error.name, error.code, error.message) }",
    ])
    expect(result.stdout).toMatch(/^MeshscopeError PLATFORM_MISSING .*meshscope\/node needs @roamhq\/wrtc.*: npm install @roamhq\/wrtc\n$/)
  })

  it('meshscope peer prints the same hint and exits non-zero', () => {
    const result = node([join(app, 'node_modules/.bin/meshscope'), 'peer', '--signaling', NO_NETWORK.replace('http', 'ws')])
    expect(result.stderr).toContain('npm install @roamhq/wrtc')
    expect(result.status).toBe(2)
  })

  it('meshscope/vite and meshscope/register without the build tools name the npm install -D command', () => {
    const vite = node([
      '--input-type=module',
      '-e',
      "const { meshscope } = await import('meshscope/vite'); try { await meshscope().buildStart.call({}) } catch (error) { console.log(error.code, error.message) }",
    ])
    expect(vite.stdout).toMatch(/^BUILD_DEPENDENCY_MISSING meshscope\/vite needs .*: npm install -D @babel\/parser @babel\/traverse magic-string\n$/)

    const register = node(['--import', 'meshscope/register', '--input-type=module', '-e', "console.log('loaded')"])
    expect(register.stdout).toBe('')
    expect(register.stderr).toContain("code: 'BUILD_DEPENDENCY_MISSING'")
    expect(register.stderr).toContain(`npm install -D ${LOADER_PACKAGES.join(' ')}`)
    expect(register.status).not.toBe(0)
  })
})

describe('package.json', () => {
  it('declares wrtc, ioredis and the build tools as optional peer dependencies, with the ranges this project tests in devDependencies', () => {
    // ioredis: only a signaling server sharing rooms through Redis loads it (signaling/redis-rooms.ts).
    const peers = ['@roamhq/wrtc', 'ioredis', ...LOADER_PACKAGES]
    for (const name of peers) {
      expect(manifest.dependencies?.[name], name).toBeUndefined()
      expect(manifest.peerDependencies?.[name], name).toBe(manifest.devDependencies?.[name])
      expect(manifest.peerDependenciesMeta?.[name]?.optional, name).toBe(true)
    }
    expect(TRANSFORM_PACKAGES.every((name) => LOADER_PACKAGES.includes(name))).toBe(true)
    expect(Object.keys(manifest.peerDependencies ?? {}).sort()).toEqual([...peers, 'vite'].sort())
  })
})
