import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand } from '../../base.ts';

/** `da admin register-table`. */
export class AdminRegisterTableCommand extends BaseCommand {
  static paths = [['admin', 'register-table']];
  static usage = Command.Usage({
    category: 'Admin',
    description: "Register a source table for the server to sync (admin)",
    details: 'DATASET is a source from the server\'s instance.yaml; SOURCE_TABLE is the name that source uses. The next data refresh (or POST /api/sync/trigger) pulls it.',
    examples: [
      ['Register a table', '$0 admin register-table sales orders'],
      ['Incremental, with a key', '$0 admin register-table sales orders --strategy incremental --primary-key order_id'],
    ],
  });
  dataset = Option.String({ name: 'dataset' });
  sourceTable = Option.String({ name: 'source-table' });
  name = Option.String('--name', { description: 'Table name in da (default: the source name, normalised)' });
  strategy = Option.String('--strategy', 'full', { description: 'full (default) or incremental', validator: t.isEnum(['full', 'incremental']) });
  primaryKey = Option.String('--primary-key', { description: 'Comma-separated key columns (needed for incremental)' });
  description = Option.String('--description', { description: 'What the table holds' });

  async run() {
    const table = await this.authedClient().post<{ id: string }>('/api/tables', {
      dataset: this.dataset,
      source_table: this.sourceTable,
      name: this.name,
      sync_strategy: this.strategy,
      primary_key: this.primaryKey ? this.primaryKey.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
      description: this.description,
    });
    this.emit(table, () => `registered ${table.id}`);
  }
}
