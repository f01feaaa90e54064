import { Command, Option, UsageError } from 'clipanion';
import { BaseCommand } from '../../base.ts';

/** A Telegram link as GET|POST /api/telegram/link returns it. */
export interface TelegramLinkView {
  linked: boolean;
  linked_at: string | null;
  bot_enabled: boolean;
  bot_username: string | null;
}

/** `da telegram link CODE`. */
export class TelegramLinkCommand extends BaseCommand {
  static paths = [['telegram', 'link']];
  static usage = Command.Usage({
    category: 'Notifications',
    description: 'Link your Telegram chat with the code the bot sent',
    details: 'Send /start to the server\'s Telegram bot; it answers with a 6-digit code, good once for 10 minutes. Your notifications then go to that chat too.',
    examples: [['Link with the code 123456', '$0 telegram link 123456']],
  });
  code = Option.String({ name: 'code' });

  async run() {
    const code = this.code.trim();
    if (!/^\d{6}$/.test(code)) throw new UsageError(`the code is the 6 digits the bot sent (got "${this.code}")`);
    const r = await this.authedClient().post<TelegramLinkView>('/api/telegram/link', { code });
    this.emit(r, () => 'Telegram is linked: your notifications go to that chat now.');
  }
}
