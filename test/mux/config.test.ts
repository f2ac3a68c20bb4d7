/** The multiplexer's configuration: defaults, and the combinations refused. */
import { describe, expect, it } from 'vitest'
import { DEFAULT_MUX_CONFIG, resolveMuxConfig } from '../../src/mux/config.js'

describe('mux config', () => {
  it('defaults: a 256 KiB window that does not grow', () => {
    expect(resolveMuxConfig()).toMatchObject({ initialWindowBytes: 256 * 1024, maxWindowBytes: 256 * 1024 })
    expect(resolveMuxConfig()).toEqual(DEFAULT_MUX_CONFIG)
  })

  it('budgets: 64 MiB inbound, 4096 queued control frames; an inbound budget of exactly one window is accepted', () => {
    expect(resolveMuxConfig()).toMatchObject({ maxInboundBytes: 64 * 1024 * 1024, maxQueuedControlFrames: 4096 })
    expect(resolveMuxConfig({ initialWindowBytes: 65536, maxWindowBytes: 65536, maxInboundBytes: 65536 }).maxInboundBytes).toBe(65536)
  })

  it('an initial window above the default maximum, with no maximum given, does not grow', () => {
    expect(resolveMuxConfig({ initialWindowBytes: 4 * 1024 * 1024 })).toMatchObject({ initialWindowBytes: 4 * 1024 * 1024, maxWindowBytes: 4 * 1024 * 1024 })
  })

  it.each([
    ['a maximum window below the initial one', { initialWindowBytes: 65536, maxWindowBytes: 65535 }, /at least initialWindowBytes/],
    ['a window past 32 bits', { maxWindowBytes: 2 ** 32 }, /32 bits/],
    ['a window that is not a positive integer', { maxWindowBytes: 0 }, /positive integer/],
    ['a frame size over 16 KiB', { maxFrameBytes: 16 * 1024 + 1 }, /maxFrameBytes/],
    ['an idle timeout within the keepalive interval', { idleTimeoutMs: 1000, keepaliveIntervalMs: 1000 }, /idleTimeoutMs/],
    ['an inbound budget below the window', { initialWindowBytes: 65536, maxWindowBytes: 65536, maxInboundBytes: 65535 }, /maxInboundBytes/],
    ['no room for control frames', { maxQueuedControlFrames: 0 }, /positive integer/],
  ])('refuses %s with INVALID_ARGUMENT', (_what, overrides, message) => {
    expect(() => resolveMuxConfig(overrides)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) }))
  })
})
