import { Command, Option } from 'clipanion';
import { BaseCommand } from '../../base.ts';
import { findUser } from '../../admin.ts';

/** `da admin remove-user`. */
export class AdminRemoveUserCommand extends BaseCommand {
  static paths = [['admin', 'remove-user']];
  static usage = Command.Usage({
    category: 'Admin',
    description: 'Deactivate a user and revoke their tokens (admin; history is kept)',
    examples: [['Remove a user', '$0 admin remove-user ana@example.com']],
  });
  user = Option.String({ name: 'email-or-id' });

  async run() {
    const client = this.authedClient();
    const u = await findUser(client, this.user);
    await client.delete(`/api/users/${u.id}`);
    this.emit({ id: u.id, email: u.email, active: false }, () => `deactivated ${u.email}`);
  }
}
