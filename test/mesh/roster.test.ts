/** Roster (src/mesh/roster.ts): keys are used only under the id they hash to; learnt keys are bounded. */
import { describe, expect, it } from 'vitest'
import { Identity } from '../../src/identity/identity.js'
import { Roster } from '../../src/mesh/roster.js'

describe('Roster', () => {
  it('a key listed under another id is refused when used; a signal’s key is learnt only under its own id', async () => {
    const [self, a, b] = await Promise.all([Identity.generate(), Identity.generate(), Identity.generate()])
    const roster = new Roster(self.id)
    roster.add({ id: self.id, publicKey: self.publicKey })
    expect(roster.has(self.id)).toBe(false) // never lists itself
    roster.add({ id: a.id, publicKey: b.publicKey }) // a hostile server swapping keys
    await expect(roster.keyOf(a.id)).rejects.toMatchObject({ code: 'BAD_PUBLIC_KEY' })

    await expect(roster.learn(b.id, a.publicKey)).rejects.toMatchObject({ code: 'BAD_PUBLIC_KEY' })
    expect(roster.has(b.id)).toBe(false)
    await expect(roster.learn(b.id, 'not a key')).rejects.toMatchObject({ code: 'BAD_PUBLIC_KEY' })
    await roster.learn(b.id, b.publicKey)
    await expect(roster.keyOf(b.id)).resolves.toBeDefined()
  })
})
