import { Command } from 'clipanion';
import { BaseCommand } from '../../base.ts';
import { formatTable } from '../../format.ts';

/** `da admin list-tables`. */
export class AdminListTablesCommand extends BaseCommand {
  static paths = [['admin', 'list-tables']];
  static usage = Command.Usage({
    category: 'Admin',
    description: 'List registered tables with their sync state (admin)',
    examples: [['All registered tables', '$0 admin list-tables --json']],
  });

  async run() {
    const { items } = await this.authedClient().get<{
      items: { id: string; sync_strategy: string; enabled: boolean; missing?: boolean; sync: { rows: number | null; last_sync: string | null; status: string } | null }[];
    }>('/api/tables');
    this.emit({ items }, () =>
      formatTable(['id', 'strategy', 'enabled', 'rows', 'last sync', 'status'], items.map((t) => [t.id, t.sync_strategy, t.enabled, t.sync?.rows ?? '', t.sync?.last_sync ?? '', t.missing ? 'missing' : (t.sync?.status ?? 'pending')])),
    );
  }
}
