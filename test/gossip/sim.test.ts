/** The simulator itself, on small groups (the big runs are `npm run sim`, not tests). */
import { afterEach, describe, expect, test, vi } from 'vitest'
import { main } from '../../sim/cli.js'
import { expectedPartialView, harmonic, runChurn, runStatic } from '../../sim/experiments.js'

afterEach(() => {
  vi.restoreAllMocks()
})

describe('simulator', () => {
  test('(c+1)(H_n − 1)', () => {
    expect(harmonic(1)).toBe(1)
    expect(expectedPartialView(1000, 1)).toBeCloseTo(12.97, 2)
    expect(expectedPartialView(1000, 0)).toBeCloseTo(6.485, 2)
  })

  test('static run: views near (c+1)(H_n − 1), mirrored, and a flood reaches the survivors', () => {
    const result = runStatic({ nodes: 400, c: 1, seed: 1, fail: 0.5, broadcasts: 5 })
    expect(Math.abs(result.meanPartialView / result.expectedPartialView - 1)).toBeLessThan(0.3)
    expect(result.minPartialView).toBeGreaterThanOrEqual(1)
    expect(result.mirrorMismatches).toBe(0)
    expect(result.survivors).toBe(200)
    expect(result.reaches).toHaveLength(5)
    expect(result.reliability).toBeGreaterThan(0.9)
  })

  test('churn run: samples over time and no permanent partition', () => {
    const result = runChurn({
      nodes: 120,
      c: 1,
      seed: 2,
      durationMs: 20 * 60_000,
      replaceFraction: 0.1,
      crashShare: 0.5,
      sampleEveryMs: 5 * 60_000,
      settleMs: 60_000,
      broadcasts: 3,
    })
    expect(result.samples.map((s) => s.minute)).toEqual([0, 5, 10, 15, 20, 21])
    expect(result.leaves + result.crashes).toBe(12)
    expect(result.partitions).toBe(0)
    expect(result.reliability).toBeGreaterThan(0.95)
  })

  test('the command line prints JSON with the required fields', async () => {
    let out = ''
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out += String(chunk)
      return true
    })
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    expect(await main(['--nodes', '200', '--c', '2', '--seeds', '2', '--fail', '0.3', '--broadcasts', '2', '--json'])).toBe(0)
    const json = JSON.parse(out) as Record<string, unknown>
    expect(json).toMatchObject({ nodes: 200, c: 2, seeds: 2, fail: 0.3 })
    for (const key of [
      'meanPartialView',
      'expectedPartialView',
      'reliability',
      'minPartialView',
      'maxPartialView',
      'messagesPerJoin',
      'messagesPerBroadcast',
    ]) {
      expect(typeof json[key]).toBe('number')
    }
    expect(await main(['--bogus'])).toBe(2)
    expect(await main(['stray'])).toBe(2)
    out = ''
    expect(await main(['--help'])).toBe(0)
    expect(out).toContain('--churn')
  })
})
