import { silentLogger, type Logger } from '../log.ts';

/** What the hub needs of one open WebSocket (Bun's ServerWebSocket has all of it). */
export interface HubSocket {
  send(text: string): unknown;
  ping(): unknown;
  close(code?: number, reason?: string): unknown;
}

/** A place held for one connection of a user, from before the upgrade until it closes. */
export interface HubTicket {
  /** The upgrade succeeded: the socket receives the user's notifications from now on. */
  attach(socket: HubSocket): void;
  /** The connection closed (or the upgrade failed): the place is free again. Safe to call twice. */
  release(): void;
}

export interface NotificationHubOptions {
  /** Milliseconds between pings on every open socket. */
  pingMs: number;
  /** Connections one user may hold at once. */
  maxPerUser: number;
  logger?: Logger;
}

/** The open notification WebSockets of every user. */
export interface NotificationHub {
  /** Holds a place for one more connection of the user; undefined when the user is at the cap. */
  reserve(userId: string): HubTicket | undefined;
  /** Sends one message to every open socket of the user; returns how many got it. */
  send(userId: string, message: unknown): number;
  /** Users with at least one open socket. */
  connectedUsers(): string[];
  /** Open sockets of one user. */
  connections(userId: string): number;
  /** Closes every socket (1001, the server is going away) and stops pinging. */
  close(): void;
}

/** The close code and reason a socket gets when the server shuts down. */
export const GOING_AWAY = { code: 1001, reason: 'the server is shutting down' } as const;

/**
 * Keeps each user's notification sockets, a per-user cap (counted from before the upgrade,
 * so simultaneous connects cannot pass it), and one ping timer for all sockets that runs
 * only while any is open.
 *
 * @example
 * const hub = createNotificationHub({ pingMs: 30_000, maxPerUser: 5 })
 * const ticket = hub.reserve(user.id) // undefined: refuse with 429
 * ticket.attach(ws); hub.send(user.id, { type: 'sync.finished', at, … })
 */
export function createNotificationHub({ pingMs, maxPerUser, logger = silentLogger }: NotificationHubOptions): NotificationHub {
  /** Per user: places held (attached or not yet) and the attached sockets. */
  const users = new Map<string, { held: number; sockets: Set<HubSocket> }>();
  let timer: ReturnType<typeof setInterval> | undefined;

  function pingAll() {
    for (const { sockets } of users.values()) {
      for (const s of sockets) {
        try {
          s.ping();
        } catch (err) {
          logger.debug('ping failed', { error: String(err) });
        }
      }
    }
  }

  function updateTimer() {
    const any = [...users.values()].some((u) => u.sockets.size > 0);
    if (any && !timer) {
      timer = setInterval(pingAll, pingMs);
      timer.unref?.();
    } else if (!any && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  return {
    reserve(userId) {
      const entry = users.get(userId) ?? { held: 0, sockets: new Set<HubSocket>() };
      if (entry.held >= maxPerUser) return undefined;
      entry.held++;
      users.set(userId, entry);
      let socket: HubSocket | undefined;
      let released = false;
      return {
        attach(s) {
          if (released) return;
          socket = s;
          entry.sockets.add(s);
          updateTimer();
        },
        release() {
          if (released) return;
          released = true;
          entry.held--;
          if (socket) entry.sockets.delete(socket);
          if (entry.held === 0 && users.get(userId) === entry) users.delete(userId);
          updateTimer();
        },
      };
    },

    send(userId, message) {
      const sockets = users.get(userId)?.sockets;
      if (!sockets?.size) return 0;
      const text = JSON.stringify(message);
      let sent = 0;
      for (const s of sockets) {
        try {
          s.send(text);
          sent++;
        } catch (err) {
          logger.warn('notification not sent on a socket', { user: userId, error: String(err) });
        }
      }
      return sent;
    },

    connectedUsers() {
      return [...users].filter(([, u]) => u.sockets.size > 0).map(([id]) => id);
    },

    connections(userId) {
      return users.get(userId)?.sockets.size ?? 0;
    },

    close() {
      for (const { sockets } of users.values()) {
        for (const s of sockets) {
          try {
            s.close(GOING_AWAY.code, GOING_AWAY.reason);
          } catch {
            // already closed
          }
        }
      }
      users.clear();
      updateTimer();
    },
  };
}
