import { Command, Option } from 'clipanion';
import { BaseCommand } from '../../base.ts';
import type { AccessRequestView } from './list.ts';

/** `da access request`. */
export class AccessRequestCommand extends BaseCommand {
  static paths = [['access', 'request']];
  static usage = Command.Usage({
    category: 'Access',
    description: 'Ask an administrator for read access to a dataset',
    details: 'The request waits until an admin approves or denies it on /admin/access (or through the API); `da access list` shows where it stands. Once approved, `da sync` fetches the dataset.',
    examples: [['Ask for the hr dataset', '$0 access request hr --reason "pay equity study"']],
  });
  dataset = Option.String({ name: 'dataset' });
  reason = Option.String('--reason', { required: true, description: 'Why you need it (shown to the admin)' });

  async run() {
    const r = await this.authedClient().post<AccessRequestView>('/api/access-requests', { dataset: this.dataset, reason: this.reason });
    this.emit(r, () => `requested read on ${r.dataset} (${r.id}); an administrator will decide — see \`da access list\``);
  }
}
