/**
 * Member choice (src/services/clusters/member-choice.ts) when the on-demand link is refused at once.
 *
 * The mesh's `openLink` answers 'refused' without waiting when this peer is at `maxLinks`
 * (LinkTable.connect rejects TOO_MANY_LINKS synchronously; mesh.ts maps that to 'refused'), and a
 * refused member stays in the directory. With no linked member, `choose` waits for the attempt,
 * which settles a few microtasks later, then picks the same member and attempts again: a loop of
 * microtasks only. The request's deadline is a timer, which never runs while the loop goes on, so
 * the whole process spins at 100 % CPU. A hostile crowd can set this up: fill the victim's links,
 * and gossip a cluster member the victim has no link to.
 *
 * The test bounds the spin itself (after 1 000 attempts the fake answers 'failed', which drops the
 * member and ends the loop) so that it cannot hang the suite.
 */
import { describe, expect, it } from 'vitest'
import { ClusterDirectory } from '../../src/services/clusters/directory.js'
import type { ClusterHost } from '../../src/services/clusters/host.js'
import { MemberChoice } from '../../src/services/clusters/member-choice.js'

const SPIN_GUARD = 1_000

function refusingHost(): { host: ClusterHost; attempts: () => number } {
  let attempts = 0
  const host: ClusterHost = {
    id: () => 'self',
    linkedPeers: () => [],
    register: () => () => {},
    call: () => Promise.reject(new Error('unused')),
    send: () => Promise.reject(new Error('unused')),
    assertOpen: () => {},
    report: () => {},
    callTimeoutMs: 5_000,
    gossip: { publish: () => 'gossip' },
    hasLink: () => false,
    // As the mesh's: at maxLinks, LinkTable.connect rejects at once and this resolves 'refused'.
    openLink: () =>
      ++attempts >= SPIN_GUARD
        ? Promise.resolve('failed' as const)
        : Promise.reject(new Error('TOO_MANY_LINKS')).then(
            () => 'open' as const,
            () => 'refused' as const,
          ),
  }
  return { host, attempts: () => attempts }
}

describe('member choice: an on-demand link refused at once', () => {
  it('does not retry the refused member in a microtask loop until the deadline (the timer could never fire)', async () => {
    const { host, attempts } = refusingHost()
    const directory = new ClusterDirectory('self')
    expect(directory.accept('member', [1, [['svc', 1]], []])).toBeUndefined()
    const choice = new MemberChoice(host, directory)
    let attemptsWhenATimerRan = -1
    setTimeout(() => (attemptsWhenATimerRan = attempts()), 0)
    const started = performance.now()
    const outcome = await choice.choose('svc', new Set(), Date.now() + 200, undefined).then(
      (member) => `chose ${member}`,
      (error: { code: string }) => error.code,
    )
    console.log(
      `refused member: ${attempts()} link attempts in ${(performance.now() - started).toFixed(0)} ms, then ${outcome}; a 0 ms timer ran after ${attemptsWhenATimerRan}`,
    )
    // The event loop was never let through while the attempts went on: no timer, no I/O.
    expect(attemptsWhenATimerRan).toBeLessThan(10)
    // One attempt per change of the directory (or per timer tick) would be a handful; a spin makes SPIN_GUARD.
    expect(attempts()).toBeLessThan(10)
    expect(outcome).toBe('NO_MEMBER')
  })
})
