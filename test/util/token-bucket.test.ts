import { describe, expect, test } from 'vitest'
import { TokenBucket } from '../../src/util/token-bucket.js'

describe('TokenBucket', () => {
  test('refills one token per refillMs up to its capacity', () => {
    const bucket = new TokenBucket(2, 100, 0)
    expect([bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, false])
    expect(bucket.take(99)).toBe(false)
    expect(bucket.take(100)).toBe(true)
    expect([bucket.take(10_000), bucket.take(10_000), bucket.take(10_000)]).toEqual([true, true, false])
  })

  test('time towards the next token carries over while the bucket is not full', () => {
    const bucket = new TokenBucket(2, 100, 0)
    expect([bucket.take(0), bucket.take(0)]).toEqual([true, true])
    expect(bucket.take(150)).toBe(true) // one token earned at 100; 50 ms count towards the next
    expect(bucket.take(199)).toBe(false)
    expect(bucket.take(200)).toBe(true)
  })

  test('a full bucket earns nothing more: the time it sat full does not count', () => {
    const bucket = new TokenBucket(1, 100, 0)
    expect(bucket.take(0)).toBe(true)
    expect(bucket.take(150)).toBe(true) // full again at 100, and stays full until 150
    expect(bucket.take(249)).toBe(false)
    expect(bucket.take(250)).toBe(true)
  })

  test('a bucket that sat full gives at most capacity tokens within one refillMs', () => {
    const bucket = new TokenBucket(1, 100, 0)
    expect(bucket.take(99)).toBe(true) // full since 0: taken at 99, the next token is due at 199
    expect(bucket.take(100)).toBe(false)
    expect(bucket.take(198)).toBe(false)
    expect(bucket.take(199)).toBe(true)
  })

  test('a rate per second as a fractional refillMs: 3 a second is one every 333.3 ms', () => {
    const bucket = new TokenBucket(3, 1000 / 3, 0)
    expect([bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, true])
    expect(bucket.take(333)).toBe(false)
    expect(bucket.take(334)).toBe(true)
    expect(bucket.take(666)).toBe(false)
    expect(bucket.take(667)).toBe(true)
  })

  test('a clock that goes back earns nothing and starts counting again', () => {
    const bucket = new TokenBucket(1, 100, 1_000)
    expect(bucket.take(1_000)).toBe(true)
    expect(bucket.take(500)).toBe(false)
    expect(bucket.take(599)).toBe(false)
    expect(bucket.take(600)).toBe(true)
  })

  test('a fractional capacity gives whole tokens only, and Infinity refills nothing', () => {
    const half = new TokenBucket(2.5, Infinity, 0)
    expect([half.take(0), half.take(0), half.take(0), half.take(1e12)]).toEqual([true, true, false, false])
  })
})
