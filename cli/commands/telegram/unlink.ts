import { Command } from 'clipanion';
import { BaseCommand } from '../../base.ts';

/** `da telegram unlink`. */
export class TelegramUnlinkCommand extends BaseCommand {
  static paths = [['telegram', 'unlink']];
  static usage = Command.Usage({
    category: 'Notifications',
    description: 'Unlink your Telegram chat: no more notifications there',
    examples: [['Unlink', '$0 telegram unlink']],
  });

  async run() {
    await this.authedClient().delete('/api/telegram/link');
    this.emit({ linked: false }, () => 'Telegram is unlinked.');
  }
}
