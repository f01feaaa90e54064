import { Command, Option, UsageError } from 'clipanion';
import { BaseCommand } from '../../base.ts';
import { findUser, ROLE_NAMES } from '../../admin.ts';

/** `da admin set-role`. */
export class AdminSetRoleCommand extends BaseCommand {
  static paths = [['admin', 'set-role']];
  static usage = Command.Usage({
    category: 'Admin',
    description: "Change a user's role (admin; never above your own)",
    examples: [['Make someone an admin', '$0 admin set-role ana@example.com admin']],
  });
  user = Option.String({ name: 'email-or-id' });
  role = Option.String({ name: 'role' });

  async run() {
    if (!(ROLE_NAMES as readonly string[]).includes(this.role)) throw new UsageError(`role must be one of ${ROLE_NAMES.join(', ')}`);
    const client = this.authedClient();
    const u = await findUser(client, this.user);
    const updated = await client.patch<{ email: string; role: string }>(`/api/users/${u.id}`, { role: this.role });
    this.emit(updated, () => `${updated.email} is now ${updated.role}`);
  }
}
