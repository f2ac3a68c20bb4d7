/**
 * Random numbers for the gossip state machine. The machine never calls Math.random: it is given an
 * `Rng`, so a seeded one makes every test and simulation replayable, and the mesh passes
 * `cryptoRng()`.
 */

/** A source of uniform random numbers in [0, 1). */
export interface Rng {
  next(): number
}

/**
 * A small seeded PRNG: sfc32 (Chris Doty-Humphrey's Small Fast Chaotic generator, 128 bits of state),
 * its state filled from the 32-bit seed by splitmix32. Not cryptographic; for tests and simulations.
 */
export function createRng(seed: number): Rng {
  let x = seed >>> 0
  const splitmix32 = (): number => {
    x = (x + 0x9e3779b9) >>> 0
    let z = x
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = splitmix32()
  let b = splitmix32()
  let c = splitmix32()
  let d = splitmix32()
  const nextUint32 = (): number => {
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return t >>> 0
  }
  // Discard the first outputs, as sfc32's author recommends.
  for (let i = 0; i < 12; i++) nextUint32()
  return { next: () => nextUint32() / 4294967296 }
}

/** An Rng over WebCrypto's `getRandomValues` (browsers and Node ≥ 20), drawing 256 values at a time. */
export function cryptoRng(): Rng {
  const buffer = new Uint32Array(256)
  let index = buffer.length
  return {
    next: () => {
      if (index === buffer.length) {
        globalThis.crypto.getRandomValues(buffer)
        index = 0
      }
      return buffer[index++]! / 4294967296
    },
  }
}

/** A uniform integer in [0, n); n must be a positive integer. */
export function randomInt(rng: Rng, n: number): number {
  return Math.floor(rng.next() * n)
}

/** Shuffles `items` in place (Fisher–Yates) and returns it. */
export function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(rng, i + 1)
    const item = items[i]!
    items[i] = items[j]!
    items[j] = item
  }
  return items
}
