#!/usr/bin/env node
/**
 * `npm run docs:api`: API docs generated from the sources, one page set per package entry point,
 * written to api-docs/ (git-ignored, not packed). The declarations are emitted afresh into
 * api-docs/dts with `stripInternal`, so what is marked `@internal` (constructors behind factories,
 * hooks for pumps) is neither documented nor checked.
 *
 * It also checks the public surface: a type that an exported declaration refers to but that no entry
 * point exports (API Extractor's `ae-forgotten-export`) fails the run, as does any other warning, so
 * every type a user meets can be named by them. `--check` runs only that check (no Markdown), for
 * `npm test`.
 *
 * API Extractor, not TypeDoc: TypeDoc 0.28 needs TypeScript's JavaScript API (≤ 6.0) as a peer and
 * this project builds with TypeScript 7; API Extractor brings its own compiler and reads the .d.ts.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor'

const root = fileURLToPath(new URL('..', import.meta.url))
const out = join(root, 'api-docs')
const checkOnly = process.argv.includes('--check')

/** package.json `exports` subpath → its declaration file under api-docs/dts. Kept in step by the check below. */
const entryPoints = {
  '.': 'src/index.d.ts',
  './node': 'src/node.d.ts',
  './signaling': 'signaling/index.d.ts',
  './vite': 'src/plugin/vite.d.ts',
  './register': 'src/plugin/register.d.ts',
}

const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const exported = Object.entries(packageJson.exports)
  .filter(([, target]) => typeof target === 'object')
  .map(([subpath]) => subpath)
const missing = exported.filter((subpath) => !(subpath in entryPoints))
if (missing.length > 0) fail(`package.json exports ${missing.join(', ')}: add to entryPoints in scripts/api-docs.mjs`)

rmSync(out, { recursive: true, force: true })
mkdirSync(join(out, 'model'), { recursive: true })
const dts = join(out, 'dts')
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const emit = spawnSync(
  process.execPath,
  [tsc, '-p', 'tsconfig.build.json', '--emitDeclarationOnly', '--stripInternal', '--declarationMap', 'false', '--sourceMap', 'false', '--outDir', dts],
  { cwd: root, stdio: 'inherit' },
)
if (emit.status !== 0) fail('tsc could not emit the declarations')

/**
 * Types a public class names only in its `[ENCODE_PORT]` member: the codec's hook for sending a
 * channel half to another peer. ENCODE_PORT is a symbol no entry point exports, so no user can reach
 * the member or meet these types.
 */
const internalPortTypes = new Set(['Connection', 'PortPlan'])

let problems = 0
for (const [subpath, declarations] of Object.entries(entryPoints)) {
  if (!existsSync(join(dts, declarations))) fail(`${declarations} was not emitted`)
  // The package name becomes the page name: meshscope, meshscope-node … (npm names allow no second slash).
  const name = subpath === '.' ? packageJson.name : `${packageJson.name}-${subpath.slice(2)}`
  const config = ExtractorConfig.prepare({
    configObject: {
      projectFolder: root,
      mainEntryPointFilePath: join(dts, declarations),
      compiler: {
        overrideTsconfig: {
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            lib: ['ES2022', 'DOM', 'DOM.Iterable', 'ESNext.Disposable'],
            types: ['node'],
            skipLibCheck: true,
          },
          files: [join(dts, declarations)],
        },
      },
      apiReport: { enabled: false },
      docModel: { enabled: !checkOnly, apiJsonFilePath: join(out, 'model', `${name}.api.json`) },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages: {
        compilerMessageReporting: { default: { logLevel: 'warning' } },
        extractorMessageReporting: {
          default: { logLevel: 'warning' },
          // Release tags (@public/@beta) are not used here: everything an entry point exports is public.
          'ae-missing-release-tag': { logLevel: 'none' },
        },
        tsdocMessageReporting: { default: { logLevel: 'warning' } },
      },
    },
    configObjectFullPath: undefined,
    packageJson: { ...packageJson, name },
    packageJsonFullPath: join(root, 'package.json'),
  })
  const result = Extractor.invoke(config, {
    localBuild: true,
    showVerboseMessages: false,
    messageCallback(message) {
      const symbol = /The symbol "(\w+)"/.exec(message.text)?.[1]
      if (message.messageId === 'ae-forgotten-export' && symbol && internalPortTypes.has(symbol)) {
        message.logLevel = 'none'
        message.handled = true
      }
    },
  })
  problems += result.errorCount + result.warningCount
  console.log(`api-docs: ${name}: ${result.errorCount} errors, ${result.warningCount} warnings`)
}
if (problems > 0) fail(`${problems} problems in the public API (above)`)

if (!checkOnly) {
  // The sources say `@default` (TypeDoc's and editors' name, defined for TSDoc in tsdoc.json);
  // api-documenter shows only TSDoc's own `@defaultValue`, so the model is given that name.
  for (const file of readdirSync(join(out, 'model'))) {
    const path = join(out, 'model', file)
    const renamed = JSON.stringify(JSON.parse(readFileSync(path, 'utf8')), (key, value) =>
      key === 'docComment' ? value.replace(/@default\b(?!Value)/g, '@defaultValue') : value,
    )
    writeFileSync(path, renamed)
  }
  const documenter = join(root, 'node_modules', '@microsoft', 'api-documenter', 'bin', 'api-documenter')
  const result = spawnSync(process.execPath, [documenter, 'markdown', '-i', join(out, 'model'), '-o', out], { stdio: 'inherit' })
  if (result.status !== 0) fail('api-documenter failed')
  console.log(`api-docs: written to ${out}/index.md`)
}

function fail(message) {
  console.error(`api-docs: ${message}`)
  process.exit(1)
}
