import type { AuthUser } from '../context.ts';
import type { EventBus } from '../events.ts';
import type { Logger } from '../log.ts';
import type { NotificationChannel, NotificationsRepository } from '../repositories/notifications.ts';
import type { UsersRepository } from '../repositories/users.ts';
import { seesAllDatasets } from '../auth/roles.ts';
import type { AccessCache } from '../sync/catalog.ts';
import type { NotificationHub } from './hub.ts';
import { isNotified, messageOf, textOf, type NotificationMessage, type NotifiedEvent } from './messages.ts';

/** Sends text to a Telegram chat (the bot, when one is configured). */
export interface ChatSender {
  sendText(chatId: string, text: string): Promise<void>;
}

export interface DispatchDeps {
  repos: { users: Pick<UsersRepository, 'get' | 'findByEmail'>; notifications: NotificationsRepository };
  access: AccessCache;
  hub: NotificationHub;
  /** The bot, or undefined when Telegram is not configured. */
  telegram?: ChatSender;
  /** Users linked to a chat: candidates for sync notifications besides those connected. */
  linkedUsers(): Promise<string[]>;
  logger: Logger;
}

/** One delivery: who got which message on which channel (for the log and tests). */
export interface Delivery {
  userId: string;
  channel: NotificationChannel;
  message: NotificationMessage;
}

const datasetOf = (tableId: string) => tableId.slice(0, Math.max(0, tableId.indexOf('.')));

/**
 * Who hears of an event, each with their own message: sync events go to the users who may
 * read any table the sync touched (admins always), told only of those tables; script runs
 * to the owner; memory status changes to the contributors; access grants to the requester.
 * Sync recipients are looked for among the users who could receive anything at all (an
 * open socket, a linked chat), so a sync costs nothing per user who never listens.
 */
async function recipients(deps: DispatchDeps, e: NotifiedEvent): Promise<Array<{ userId: string; message: NotificationMessage }>> {
  switch (e.type) {
    case 'sync.finished':
    case 'sync.failed': {
      const candidates = new Set([...deps.hub.connectedUsers(), ...(await deps.linkedUsers())]);
      const out: Array<{ userId: string; message: NotificationMessage }> = [];
      for (const id of candidates) {
        const user = await deps.repos.users.get(id);
        if (!user?.active) continue;
        const admin = seesAllDatasets(user.role);
        const rule = await deps.access.forUser({ id: user.id, email: user.email, role: user.role, name: user.name, via: 'jwt' } satisfies AuthUser);
        const readable = (t: string) => rule.canRead(datasetOf(t));
        // Nobody but admins hears of a sync that touched none of their tables.
        if (!admin && ![...e.tableIds, ...e.failedTableIds].some(readable)) continue;
        out.push({ userId: id, message: messageOf(e, readable) });
      }
      return out;
    }
    case 'script.finished':
    case 'script.failed':
      return [{ userId: e.owner, message: messageOf(e) }];
    case 'access.granted':
      return [{ userId: e.userId, message: messageOf(e) }];
    case 'memory.status_changed': {
      const ids = new Set<string>();
      for (const c of e.contributors) {
        // Contributors are user ids; an address is looked up, for producers that record those.
        const id = c.includes('@') ? (await deps.repos.users.findByEmail(c))?.id : c;
        if (id) ids.add(id);
      }
      return [...ids].map((userId) => ({ userId, message: messageOf(e) }));
    }
  }
}

/** Delivers one event on every channel each recipient has on; returns what was delivered. */
export async function dispatchEvent(deps: DispatchDeps, e: NotifiedEvent): Promise<Delivery[]> {
  const { repos, hub, telegram } = deps;
  const targets = await recipients(deps, e);
  if (!targets.length) return [];
  const [noSocket, noChat] = await Promise.all([repos.notifications.optedOut(e.type, 'websocket'), repos.notifications.optedOut(e.type, 'telegram')]);
  const delivered: Delivery[] = [];
  for (const { userId, message } of targets) {
    // A deactivated account hears nothing more, also on a socket opened before.
    if (e.type !== 'sync.finished' && e.type !== 'sync.failed' && !(await repos.users.get(userId))?.active) continue;
    if (!noSocket.has(userId) && hub.send(userId, message) > 0) delivered.push({ userId, channel: 'websocket', message });
    if (telegram && !noChat.has(userId)) {
      const link = await repos.notifications.linkFor(userId);
      if (!link) continue;
      try {
        await telegram.sendText(link.chat_id, textOf(message));
        delivered.push({ userId, channel: 'telegram', message });
      } catch (err) {
        deps.logger.warn('telegram notification not sent', { user: userId, event: e.type, error: err instanceof Error ? err.message : String(err) });
      }
    }
  }
  return delivered;
}

/**
 * Subscribes the one dispatcher to the bus: every notified event goes to its recipients'
 * channels. Returns the function that stops it. `onDelivered` sees each event's deliveries.
 */
export function startDispatch(events: EventBus, deps: DispatchDeps, onDelivered?: (e: NotifiedEvent, d: Delivery[]) => void): () => void {
  return events.on('*', async (e) => {
    if (!isNotified(e)) return;
    const delivered = await dispatchEvent(deps, e);
    if (delivered.length) deps.logger.debug('notification delivered', { event: e.type, deliveries: delivered.length });
    onDelivered?.(e, delivered);
  });
}
