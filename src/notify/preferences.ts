import {
  NOTIFICATION_CHANNELS, NOTIFICATION_EVENTS, type ChannelChoice, type NotificationEvent, type NotificationsRepository,
} from '../repositories/notifications.ts';

/** One kind of notification and whether each channel carries it for the user. */
export interface EventChannels {
  event: NotificationEvent;
  websocket: boolean;
  telegram: boolean;
}

/** What each kind of notification is, in words (settings page, CLI). */
export const EVENT_LABELS: Record<NotificationEvent, string> = {
  'sync.finished': 'A sync of my tables finished',
  'sync.failed': 'A sync of my tables failed',
  'script.finished': 'My script ran successfully',
  'script.failed': 'My script failed',
  'memory.status_changed': 'Knowledge I contributed was approved, rejected or changed',
  'access.granted': 'I was granted access to a dataset',
};

/** Every kind of notification with the user's channels; a choice never made is on. */
export async function channelChoices(repo: Pick<NotificationsRepository, 'preferences'>, userId: string): Promise<EventChannels[]> {
  const stored = new Map((await repo.preferences(userId)).map((c) => [`${c.event}|${c.channel}`, c.enabled]));
  return NOTIFICATION_EVENTS.map((event) => ({
    event,
    websocket: stored.get(`${event}|websocket`) ?? true,
    telegram: stored.get(`${event}|telegram`) ?? true,
  }));
}

/** Saves the channels given (a channel left out keeps its choice); returns every kind with its channels. */
export async function saveChannelChoices(
  repo: Pick<NotificationsRepository, 'preferences' | 'setPreferences'>,
  userId: string,
  items: Array<{ event: NotificationEvent; websocket?: boolean; telegram?: boolean }>,
): Promise<EventChannels[]> {
  const choices: ChannelChoice[] = [];
  for (const item of items) {
    for (const channel of NOTIFICATION_CHANNELS) {
      const enabled = item[channel];
      if (enabled !== undefined) choices.push({ event: item.event, channel, enabled });
    }
  }
  await repo.setPreferences(userId, choices);
  return channelChoices(repo, userId);
}
