import { Command, Option } from 'clipanion';
import { BaseCommand } from '../../base.ts';
import { formatTable } from '../../format.ts';

/** An access request as GET /api/access-requests* returns it. */
export interface AccessRequestView {
  id: string;
  user: string;
  dataset: string;
  reason: string;
  status: 'pending' | 'approved' | 'denied';
  note: string | null;
  created_at: string;
  decided_by: string | null;
  decided_at: string | null;
}

/** `da access list`. */
export class AccessListCommand extends BaseCommand {
  static paths = [['access', 'list']];
  static usage = Command.Usage({
    category: 'Access',
    description: 'List your access requests (admins: everyone\'s with --all)',
    examples: [
      ['My requests', '$0 access list'],
      ["Everyone's pending requests, as JSON (admin)", '$0 access list --all --status pending --json'],
    ],
  });
  all = Option.Boolean('--all', false, { description: "Everyone's requests (admin)" });
  status = Option.String('--status', { description: 'pending, approved or denied (with --all)' });

  async run() {
    const client = this.authedClient();
    const { items } = this.all
      ? await client.get<{ items: AccessRequestView[] }>('/api/access-requests', { query: { status: this.status } })
      : await client.get<{ items: AccessRequestView[] }>('/api/access-requests/mine');
    const shown = !this.all && this.status ? items.filter((r) => r.status === this.status) : items;
    this.emit({ items: shown }, () =>
      shown.length
        ? formatTable(
            ['dataset', 'status', ...(this.all ? ['user'] : []), 'asked', 'decided', 'note', 'id'],
            shown.map((r) => [r.dataset, r.status, ...(this.all ? [r.user] : []), r.created_at, r.decided_at ?? '', r.note ?? '', r.id]),
          )
        : 'no access requests',
    );
  }
}
