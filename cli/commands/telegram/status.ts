import { Command } from 'clipanion';
import { BaseCommand } from '../../base.ts';
import type { TelegramLinkView } from './link.ts';

/** `da telegram status`. */
export class TelegramStatusCommand extends BaseCommand {
  static paths = [['telegram', 'status']];
  static usage = Command.Usage({
    category: 'Notifications',
    description: 'Whether a Telegram chat is linked to your account',
    examples: [['As JSON', '$0 telegram status --json']],
  });

  async run() {
    const r = await this.authedClient().get<TelegramLinkView>('/api/telegram/link');
    const bot = r.bot_username ? `@${r.bot_username}` : 'the bot';
    this.emit(r, () =>
      !r.bot_enabled && !r.linked
        ? 'Telegram is not set up on this server.'
        : r.linked
          ? `Linked${r.linked_at ? ` since ${r.linked_at}` : ''}.`
          : `Not linked: send /start to ${bot} in Telegram, then run \`da telegram link CODE\`.`,
    );
  }
}
