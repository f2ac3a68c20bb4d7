/**
 * How a signaling server instance acts on what the shared rooms (redis-rooms.ts) tell it: relays from
 * other instances for the peers it holds, members that lapsed, and its own peers taken over by another
 * socket or no longer members. Kept apart from server.ts so the server reads as the single-instance
 * server it is, with a few calls out when rooms are shared.
 */
import type { ErrorCode } from '../src/errors.js'
import { CLOSE_CODES, type PeerInfo, type ServerMessage } from '../src/signaling/protocol.js'
import type { HeldPeer, SharedRoomsEvents } from './redis-rooms.js'
import type { RoomMembers } from './room.js'

/** The part of a server session these events need. */
export interface SharedSession {
  nonce: string
  peer?: PeerInfo
  state: string
  /** Its id was taken over by a socket on another instance: it leaves without telling anyone. */
  replacedElsewhere?: boolean
}

/** The server's side: its rooms and how it sends to and closes a session. */
export interface SharedRoomHost<Session extends SharedSession> {
  rooms: ReadonlyMap<string, RoomMembers<Session>>
  send(session: Session, message: ServerMessage): void
  /** Sends an error, closes the socket with `closeCode` and leaves the room. */
  close(session: Session, closeCode: number, code: ErrorCode, reason: string): void
  log(line: string): void
}

export function sharedRoomEvents<Session extends SharedSession>(host: SharedRoomHost<Session>): SharedRoomsEvents {
  const { rooms, send } = host

  /** Another socket proved this id on another instance: this one yields, and its room hears nothing. */
  const yieldTo = (session: Session) => {
    session.replacedElsewhere = true
    host.close(session, CLOSE_CODES.replaced, 'ALREADY_JOINED', 'a newer connection proved this key')
  }

  /** Tells a full room's local members, except `except`, of a join or leave that happened elsewhere. */
  const announceLocally = (room: RoomMembers<Session>, message: ServerMessage, except: string) => {
    if (room.topology !== 'full') return
    for (const member of room.values()) if (member.peer?.id !== except) send(member, message)
  }

  return {
    relay(relay) {
      const room = rooms.get(relay.room)
      if (!room) return // none of its members is here (any more)
      switch (relay.kind) {
        case 'deliver': {
          const target = room.get(relay.to)
          if (target) send(target, relay.message)
          return
        }
        case 'announce': {
          const id = relay.message.type === 'peer-joined' ? relay.message.peer.id : relay.message.id
          // A peer held here is neither joining elsewhere nor gone: a stale announcement.
          if (room.get(id)) return
          announceLocally(room, relay.message, id)
          return
        }
        case 'replaced': {
          const session = room.get(relay.id)
          if (session && session.nonce === relay.session) yieldTo(session)
          return
        }
      }
    },
    lapsed(roomKey, ids) {
      const room = rooms.get(roomKey)
      if (!room) return
      for (const id of ids) {
        const held = room.get(id)
        // One of ours lapsed (its refreshes did not reach Redis): it rejoins, and is announced as a join.
        if (held) host.close(held, CLOSE_CODES.tryAgainLater, 'SIGNALING_UNAVAILABLE', 'presence lapsed; join again')
        else announceLocally(room, { type: 'peer-left', id }, id)
      }
    },
    taken(roomKey, ids) {
      const room = rooms.get(roomKey)
      for (const id of ids) {
        const session = room?.get(id)
        if (session) yieldTo(session)
      }
    },
    gone(roomKey, ids) {
      const room = rooms.get(roomKey)
      for (const id of ids) {
        const session = room?.get(id)
        if (session) host.close(session, CLOSE_CODES.tryAgainLater, 'SIGNALING_UNAVAILABLE', 'presence lapsed; join again')
      }
    },
    *held(): Iterable<HeldPeer> {
      for (const [roomKey, room] of rooms) {
        for (const session of room.values()) {
          if (session.state === 'joined' && session.peer && !session.replacedElsewhere)
            yield { roomKey, id: session.peer.id, session: session.nonce, publicKey: session.peer.publicKey }
        }
      }
    },
    log: host.log,
  }
}
