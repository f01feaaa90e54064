import { Command, Option } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand } from '../../base.ts';
import { itemsTable, localMemory, matchesQuery, onlineOrLocal, type CliMemoryItem } from '../../memory.ts';
import { workspacePaths } from '../../workspace.ts';

const STATUSES = ['pending', 'approved', 'mandatory', 'rejected', 'revoked'] as const;

/** What list and search share: filters, the server call, and the offline reading of the digest. */
export abstract class MemoryQueryCommand extends BaseCommand {
  status = Option.String('--status', { description: `Only items of this status (${STATUSES.join(', ')})`, validator: t.isEnum(STATUSES) });
  category = Option.String('--category', { description: 'Only items of this category' });
  tag = Option.String('--tag', { description: 'Only items with this tag' });
  limit = Option.String('--limit', '50', { description: 'Most items to show (1-200)', validator: t.cascade(t.isNumber(), [t.isInteger(), t.isInInclusiveRange(1, 200)]) });
  offline = Option.Boolean('--offline', false, { description: 'Read the digest synced into this workspace instead of asking the server' });

  async query(q: string | undefined) {
    const filters = { q, status: this.status, category: this.category, tag: this.tag };
    const { result, offline } = await onlineOrLocal(
      this,
      this.offline,
      () => this.authedClient().get<{ items: CliMemoryItem[]; next_cursor: string | null }>('/api/memory', { query: { ...filters, limit: this.limit } }),
      () => {
        const items = localMemory(workspacePaths(this.context.cwd)).filter(
          (i) => (!q || matchesQuery(i, q)) && (!this.status || i.status === this.status) && (!this.category || i.category === this.category) && (!this.tag || i.tags.includes(this.tag)),
        );
        return { items: items.slice(0, Number(this.limit)), next_cursor: null };
      },
    );
    this.emit({ ...result, offline }, () =>
      result.items.length ? itemsTable(result.items) : offline ? 'no items in the synced digest (run `da sync`)' : 'no items',
    );
  }
}

/** `da memory list`: the corporate memory items you may see. */
export class MemoryListCommand extends MemoryQueryCommand {
  static paths = [['memory', 'list']];
  static usage = Command.Usage({
    category: 'Knowledge',
    description: "List the organisation's corporate memory (offline: the digest from the last sync)",
    details: 'Online, the items you may see on the server (approved and mandatory ones for your audience, and your own proposals). Offline or with `--offline`, the approved items in `./server/docs/knowledge.md`.',
    examples: [['Everything', '$0 memory list'], ['Mandatory items as JSON', '$0 memory list --status mandatory --json']],
  });

  async run() {
    await this.query(undefined);
  }
}
