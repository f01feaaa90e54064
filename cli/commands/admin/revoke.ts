import { Command, Option } from 'clipanion';
import { BaseCommand } from '../../base.ts';
import { findUser } from '../../admin.ts';

/** `da admin revoke`. */
export class AdminRevokeCommand extends BaseCommand {
  static paths = [['admin', 'revoke']];
  static usage = Command.Usage({
    category: 'Admin',
    description: "Take back a user's grant on a dataset (admin)",
    details: 'Removes the grant (the user keeps public datasets). `--deny` also hides a public dataset from them. Their next `da sync` deletes the tables locally.',
    examples: [
      ['Remove a grant', '$0 admin revoke ana@example.com hr'],
      ['Hide even a public dataset', '$0 admin revoke ana@example.com sales --deny'],
    ],
  });
  user = Option.String({ name: 'email-or-id' });
  dataset = Option.String({ name: 'dataset' });
  deny = Option.Boolean('--deny', false, { description: 'Deny explicitly (also hides public datasets)' });

  async run() {
    const client = this.authedClient();
    const u = await findUser(client, this.user);
    const path = `/api/users/${u.id}/permissions/${encodeURIComponent(this.dataset)}`;
    if (this.deny) await client.put(path, { access: 'none' });
    else await client.delete(path);
    this.emit({ user_id: u.id, dataset: this.dataset, access: this.deny ? 'none' : 'default' }, () =>
      this.deny ? `${u.email} is denied ${this.dataset}` : `${u.email} no longer has a grant on ${this.dataset}`,
    );
  }
}
