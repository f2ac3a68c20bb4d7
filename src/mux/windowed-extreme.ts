/**
 * A running minimum or maximum over a time window in O(1) memory: Kathleen Nichols' three-sample
 * filter, as Linux's lib/win_minmax.c keeps BBR's bandwidth and round-trip estimates. It keeps the
 * best, second-best and third-best samples of three successive sub-windows, so when the best one ages
 * out of the window the next-best from later takes its place without keeping every sample.
 */
interface Sample {
  at: number
  value: number
}

/** A windowed minimum (`kind: 'min'`) or maximum (`'max'`) of samples taken at non-decreasing times. */
export class WindowedExtreme {
  readonly #better: (a: number, b: number) => boolean
  #samples: [Sample, Sample, Sample] | undefined

  constructor(kind: 'min' | 'max') {
    this.#better = kind === 'min' ? (a, b) => a <= b : (a, b) => a >= b
  }

  /** The best sample in the window, or undefined before the first. */
  get value(): number | undefined {
    return this.#samples?.[0].value
  }

  /** Adds `value` taken at `at`; the best over the last `windowMs` (the window may change between calls). */
  update(value: number, at: number, windowMs: number): number {
    const sample = { at, value }
    const s = this.#samples
    if (!s || this.#better(value, s[0].value) || at - s[2].at > windowMs) {
      this.#samples = [sample, sample, sample]
      return value
    }
    if (this.#better(value, s[1].value)) s[1] = s[2] = sample
    else if (this.#better(value, s[2].value)) s[2] = sample
    // Age the sub-windows: the best leaves once it is older than the window, the others move up.
    const age = at - s[0].at
    if (age > windowMs) {
      s[0] = s[1]
      s[1] = s[2]
      s[2] = sample
      if (at - s[0].at > windowMs) {
        s[0] = s[1]
        s[1] = s[2]
        s[2] = sample
      }
    } else if (s[1].at === s[0].at && age > windowMs / 4) {
      s[1] = s[2] = sample
    } else if (s[2].at === s[1].at && age > windowMs / 2) {
      s[2] = sample
    }
    return s[0].value
  }
}
