import { Command } from 'clipanion';
import { BaseCommand } from '../base.ts';

/** `da whoami`: the signed-in user according to the server. */
export class WhoamiCommand extends BaseCommand {
  static paths = [['whoami']];
  static usage = Command.Usage({
    category: 'Auth',
    description: 'Show the signed-in user',
    details: 'Asks the server who the stored token (or $DA_TOKEN) belongs to. Exit 1 when not logged in or the token was revoked.',
    examples: [
      ['Show the user', '$0 whoami'],
      ['As JSON (id, email, name, role, server)', '$0 whoami --json'],
    ],
  });

  async run() {
    const client = this.authedClient();
    const me = await client.get<{ id: string; email: string; name: string | null; role: string; via: string }>('/api/me');
    this.emit({ ...me, server: client.server }, () => `${me.email} (${me.role}) on ${client.server}`);
  }
}
