import { Command, Option, UsageError } from 'clipanion';
import { BaseCommand } from '../../base.ts';
import { formatTable } from '../../format.ts';

interface EventChannelsView {
  event: string;
  websocket: boolean;
  telegram: boolean;
}

/** `da notifications [--on|--off EVENT:CHANNEL]…`. */
export class NotificationsCommand extends BaseCommand {
  static paths = [['notifications']];
  static usage = Command.Usage({
    category: 'Notifications',
    description: 'Show or change which channels carry each kind of your notifications',
    details: 'Kinds: sync.finished, sync.failed, script.finished, script.failed, memory.status_changed, access.granted. Channels: websocket, telegram. Everything is on until turned off.',
    examples: [
      ['Show them', '$0 notifications'],
      ['No Telegram message for finished syncs', '$0 notifications --off sync.finished:telegram'],
    ],
  });
  on = Option.Array('--on', [], { description: 'EVENT:CHANNEL to turn on (repeatable)' });
  off = Option.Array('--off', [], { description: 'EVENT:CHANNEL to turn off (repeatable)' });

  async run() {
    const client = this.authedClient();
    const changes = new Map<string, { event: string; websocket?: boolean; telegram?: boolean }>();
    for (const [list, enabled] of [[this.on, true], [this.off, false]] as const) {
      for (const spec of list) {
        const m = /^([a-z_.]+):(websocket|telegram)$/.exec(spec);
        if (!m) throw new UsageError(`"${spec}" is not EVENT:CHANNEL (e.g. sync.finished:telegram)`);
        const item = changes.get(m[1]!) ?? { event: m[1]! };
        item[m[2] as 'websocket' | 'telegram'] = enabled;
        changes.set(m[1]!, item);
      }
    }
    const { items } = changes.size
      ? await client.put<{ items: EventChannelsView[] }>('/api/notifications/preferences', { items: [...changes.values()] })
      : await client.get<{ items: EventChannelsView[] }>('/api/notifications/preferences');
    const yn = (b: boolean) => (b ? 'on' : 'off');
    this.emit({ items }, () => formatTable(['event', 'websocket', 'telegram'], items.map((i) => [i.event, yn(i.websocket), yn(i.telegram)])));
  }
}
