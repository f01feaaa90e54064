import { Command } from 'clipanion';
import { BaseCommand } from '../base.ts';
import { createClient } from '../client.ts';
import { CliError } from '../errors.ts';

/** `da logout`: revokes the stored token on the server and forgets it. */
export class LogoutCommand extends BaseCommand {
  static paths = [['logout']];
  static usage = Command.Usage({
    category: 'Auth',
    description: 'Revoke the stored token on the server and delete it locally',
    details:
      'Calls POST /auth/logout with the stored token, which revokes it, then deletes token.json from $DA_CONFIG_DIR. When the server cannot be reached the local token is still deleted and the command exits 1 (revoke it later in the web settings).',
    examples: [['Log out', '$0 logout']],
  });

  async run() {
    const stored = this.store.readToken();
    if (!stored) {
      this.emit({ logged_out: false, reason: 'not logged in' }, () => 'not logged in');
      return;
    }
    let revoked = true;
    let error: string | undefined;
    try {
      await createClient(stored.server, stored.token).post('/auth/logout');
    } catch (err) {
      revoked = false;
      error = (err as Error).message;
    }
    this.store.removeToken();
    if (!revoked && !/^401 /.test(error ?? '')) throw new CliError(`token deleted locally, but not revoked on the server: ${error}`);
    this.emit({ logged_out: true, server: stored.server, email: stored.email ?? null }, () => `logged out of ${stored.server}`);
  }
}
