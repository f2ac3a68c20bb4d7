/**
 * The seed's three-step demo: on the server a = 42; on the client an array of a + 1 copies of 42;
 * back on the server [thatArray, a + 2]. The caller gets [43 × 42, 44].
 */
import { hop, type Mesh } from 'meshscope'

export async function threeStep(mesh: Mesh, serverId: string): Promise<[number[], number]> {
  const clientId = mesh.id
  return hop(mesh.peer(serverId), { clientId }, async ({ clientId }, here) => {
    const a = 42
    const serverId = here.id
    return hop(here.peer(clientId), { a, serverId }, async ({ a, serverId }, here) => {
      const thatArray = Array.from({ length: a + 1 }, () => 42)
      return hop(here.peer(serverId), { thatArray, a }, ({ thatArray, a }) => [thatArray, a + 2] as [number[], number])
    })
  })
}
