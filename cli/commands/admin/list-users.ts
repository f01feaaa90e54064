import { Command, Option } from 'clipanion';
import { BaseCommand } from '../../base.ts';
import type { AdminUser } from '../../admin.ts';
import { formatTable } from '../../format.ts';

/** `da admin list-users`. */
export class AdminListUsersCommand extends BaseCommand {
  static paths = [['admin', 'list-users']];
  static usage = Command.Usage({
    category: 'Admin',
    description: 'List users (admin)',
    examples: [
      ['Active users', '$0 admin list-users'],
      ['Everyone, as JSON', '$0 admin list-users --all --json'],
    ],
  });
  all = Option.Boolean('--all', false, { description: 'Include deactivated users' });

  async run() {
    const { items } = await this.authedClient().get<{ items: AdminUser[] }>('/api/users', { query: { include_inactive: this.all ? 'true' : undefined } });
    this.emit({ items }, () => formatTable(['email', 'role', 'active', 'last login', 'id'], items.map((u) => [u.email, u.role, u.active, u.last_login_at ?? '', u.id])));
  }
}
