import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand } from '../../base.ts';
import { ROLE_NAMES } from '../../admin.ts';

/** `da admin add-user`. */
export class AdminAddUserCommand extends BaseCommand {
  static paths = [['admin', 'add-user']];
  static usage = Command.Usage({
    category: 'Admin',
    description: 'Create a user (admin)',
    details: 'Without `--password` the server returns a single-use setup token (shown once): hand the user the setup link printed with it (`<server>/set-password?token=…`), where they choose a password, or let them redeem the token with POST /auth/setup.',
    examples: [
      ['Add an analyst with a setup token', '$0 admin add-user ana@example.com --role analyst'],
      ['Add a viewer with a password', '$0 admin add-user vic@example.com --role viewer --password s3cret-pass'],
    ],
  });
  email = Option.String({ name: 'email' });
  role = Option.String('--role', 'analyst', { description: 'viewer, analyst (default), admin or km_admin', validator: t.isEnum(ROLE_NAMES) });
  name = Option.String('--name', { description: 'Display name' });
  password = Option.String('--password', { description: 'Initial password (at least 8 characters)' });

  async run() {
    const client = this.authedClient();
    const user = await client.post<{ id: string; email: string; role: string; setup_token?: string }>('/api/users', {
      email: this.email, role: this.role, name: this.name, password: this.password,
    });
    const setupUrl = user.setup_token ? `${client.server}/set-password?${new URLSearchParams({ token: user.setup_token })}` : undefined;
    this.emit({ ...user, ...(setupUrl ? { setup_url: setupUrl } : {}) }, () => [
      `created ${user.email} (${user.role}), id ${user.id}`,
      ...(setupUrl ? [`setup link for ${user.email} (shown once): ${setupUrl}`] : []),
    ]);
  }
}
