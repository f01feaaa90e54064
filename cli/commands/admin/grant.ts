import { Command, Option } from 'clipanion';
import { BaseCommand } from '../../base.ts';
import { findUser } from '../../admin.ts';

/** `da admin grant`. */
export class AdminGrantCommand extends BaseCommand {
  static paths = [['admin', 'grant']];
  static usage = Command.Usage({
    category: 'Admin',
    description: 'Let a user read a dataset (admin)',
    details: 'Admins read every dataset anyway; for viewers and analysts this adds the dataset to their manifest, downloads, catalog and queries.',
    examples: [['Grant the hr dataset', '$0 admin grant ana@example.com hr']],
  });
  user = Option.String({ name: 'email-or-id' });
  dataset = Option.String({ name: 'dataset' });

  async run() {
    const client = this.authedClient();
    const u = await findUser(client, this.user);
    const p = await client.put(`/api/users/${u.id}/permissions/${encodeURIComponent(this.dataset)}`, { access: 'read' });
    this.emit(p, () => `${u.email} may read ${this.dataset}`);
  }
}
