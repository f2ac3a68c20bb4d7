#!/usr/bin/env node
/**
 * Writes the import-direction rules of biome.json from the layer order in docs/architecture.md:
 * a module under src/<layer>/ may import only the layers listed below it. Run after changing the
 * order (`node scripts/layer-rules.mjs`); `npm run lint` then enforces it.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'

/** Top to bottom; each layer may import the ones after it. Layers on one line are peers that import none of each other. */
const layers = [
  ['mesh'],
  ['scope'],
  ['services', 'objects'],
  ['rpc'],
  ['channels'],
  ['mux'],
  ['codec'],
  ['gossip'],
  ['signaling'],
  ['transport', 'identity'],
  ['util'],
]
/** Build-time code: it reads scope's hop ids and nothing of the runtime above it. */
const plugin = { name: 'plugin', mayImport: ['scope', 'util'] }

const all = layers.flat()
const overrides = []
for (const [index, row] of layers.entries()) {
  const below = new Set(layers.slice(index + 1).flat())
  for (const layer of row) {
    const forbidden = all.filter((other) => other !== layer && !below.has(other)).concat('plugin')
    overrides.push(restrict(layer, forbidden, `${layer} may import only the layers below it (docs/architecture.md): not`))
  }
}
overrides.push(
  restrict(
    plugin.name,
    all.filter((layer) => !plugin.mayImport.includes(layer)),
    'the build plugin may import only scope and util: not',
  ),
)

function restrict(layer, forbidden, message) {
  return {
    includes: [`src/${layer}/**`],
    linter: {
      rules: {
        style: {
          noRestrictedImports: {
            level: 'error',
            options: {
              patterns: [
                // Two levels: a layer's subfolders (src/channels/public/) are held to the same rule.
                ...forbidden.map((other) => ({ group: [`../${other}/*`, `../../${other}/*`], message: `${message} ${other}` })),
                { group: ['../index.js', '../node.js', './index.js'], message: 'entry points are for users; import the module that defines the thing' },
              ],
            },
          },
        },
      },
    },
  }
}

const configPath = new URL('../biome.json', import.meta.url)
const config = JSON.parse(readFileSync(configPath, 'utf8'))
config.overrides = [...(config.overrides ?? []).filter((override) => !override.linter?.rules?.style?.noRestrictedImports), ...overrides]
writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`)
spawnSync('npx', ['biome', 'format', '--write', 'biome.json'], { stdio: 'inherit' })
console.log(`biome.json: import rules for ${overrides.length} layers`)
