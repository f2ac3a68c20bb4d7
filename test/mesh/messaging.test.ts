/**
 * Messaging's side of links opened on demand: a send or call that waits for a link settles with the
 * right code when that wait ends without one.
 */
import { describe, expect, test } from 'vitest'
import { MeshscopeError } from '../../src/errors.js'
import { Messaging } from '../../src/mesh/messaging.js'

const PEER = 'b'.repeat(32)

/** Messaging over a host whose on-demand link never opens: `settle()` ends every wait, optionally closing the mesh first. */
function waitingForALink() {
  let open = true
  const waiting: Array<(connection: undefined) => void> = []
  const messaging = new Messaging({
    id: () => 'a'.repeat(32),
    connectionTo: () => undefined,
    connect: () => new Promise((resolve) => waiting.push(resolve)),
    assertOpen: () => {
      if (!open) throw new MeshscopeError('MESH_CLOSED', 'the mesh is closed')
    },
    report: () => {},
  })
  return {
    messaging,
    settle: ({ closeMesh }: { closeMesh: boolean }) => {
      if (closeMesh) open = false
      for (const endWait of waiting) endWait(undefined)
    },
  }
}

describe('a send or call waiting for a link opened on demand', () => {
  test('fails with PEER_NOT_CONNECTED when the link does not open', async () => {
    const { messaging, settle } = waitingForALink()
    const sent = messaging.send(PEER, 'inbox', 1)
    settle({ closeMesh: false })
    await expect(sent).rejects.toMatchObject({ code: 'PEER_NOT_CONNECTED' })
  })

  test('fails with MESH_CLOSED when the mesh closed meanwhile', async () => {
    const { messaging, settle } = waitingForALink()
    const sent = messaging.send(PEER, 'inbox', 1)
    const called = messaging.call(PEER, 'adder', 1)
    settle({ closeMesh: true })
    await expect(sent).rejects.toMatchObject({ code: 'MESH_CLOSED' })
    await expect(called).rejects.toMatchObject({ code: 'MESH_CLOSED' })
  })
})
