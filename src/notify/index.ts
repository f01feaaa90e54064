import type { AppDeps } from '../context.ts';
import type { EventBus } from '../events.ts';
import { freshnessJudge } from '../sync/freshness.ts';
import { visibleTables, type AccessCache, type TableCatalog } from '../sync/catalog.ts';
import { startDispatch, type Delivery } from './dispatch.ts';
import { createNotificationHub, type NotificationHub } from './hub.ts';
import { createTelegramLinks, type TelegramLinks } from './link-codes.ts';
import type { NotifiedEvent } from './messages.ts';
import type { ScriptsPort } from './scripts-port.ts';
import { createTelegramBot, type TelegramBot } from './telegram.ts';

/** Notifications of one server: the WebSocket hub, the Telegram bot (when configured), linking, and the dispatcher. */
export interface Notifications {
  hub: NotificationHub;
  /** The bot, when `telegram` is configured. */
  telegram: TelegramBot | undefined;
  links: TelegramLinks;
  /** Starts the bot (polling, or setting the webhook); called once the server listens. */
  start(): Promise<void>;
  /** Stops the dispatcher and the bot, and closes every socket. */
  stop(): Promise<void>;
  /** Calls `listener` once each notified event has been handed to every channel (logs, tests); returns the function that stops it. */
  onDelivered(listener: (e: NotifiedEvent, deliveries: Delivery[]) => void): () => void;
}

export interface NotificationsOptions {
  events: EventBus;
  access: AccessCache;
  catalog: TableCatalog;
  /** The script registry as the bot uses it (`registryScriptsPort`). */
  scripts: ScriptsPort;
}

/** Builds the notification parts and subscribes the dispatcher to the event bus. */
export function createNotifications(deps: AppDeps, opts: NotificationsOptions): Notifications {
  const { config, repos, logger, key } = deps;
  const hub = createNotificationHub({
    pingMs: config.notifications.ping_seconds * 1000,
    maxPerUser: config.notifications.max_connections_per_user,
    logger,
  });
  const { scripts } = opts;
  const listeners = new Set<(e: NotifiedEvent, d: Delivery[]) => void>();
  let links: TelegramLinks;
  const telegram = config.telegram
    ? createTelegramBot({
        config: config.telegram,
        baseUrl: config.instance.base_url,
        repos,
        links: () => links,
        scripts,
        logger,
        async tables(user) {
          const { tables } = await visibleTables(opts.access, opts.catalog, user);
          const judge = freshnessJudge(config, Date.now());
          return tables.map((t) => ({ id: t.id, freshness: judge(t), last_sync: t.last_sync }));
        },
      })
    : undefined;
  links = createTelegramLinks({ notifications: repos.notifications, key, bot: telegram });
  const stopDispatch = startDispatch(
    opts.events,
    {
      repos,
      access: opts.access,
      hub,
      telegram,
      linkedUsers: () => (telegram ? repos.notifications.linkedUserIds() : Promise.resolve([])),
      logger,
    },
    (e, d) => {
      for (const l of listeners) l(e, d);
    },
  );
  return {
    hub,
    telegram,
    links,
    async start() {
      await telegram?.start();
    },
    async stop() {
      stopDispatch();
      await telegram?.stop();
      hub.close();
    },
    onDelivered(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}
