import { Command, Option } from 'clipanion';
import { BaseCommand } from '../../base.ts';
import { CliError } from '../../errors.ts';
import { itemText, localMemory, onlineOrLocal, type CliMemoryItem } from '../../memory.ts';
import { workspacePaths } from '../../workspace.ts';

/** `da memory show ID`: one item. */
export class MemoryShowCommand extends BaseCommand {
  static paths = [['memory', 'show']];
  static usage = Command.Usage({
    category: 'Knowledge',
    description: 'Print one corporate memory item',
    examples: [['Show', '$0 memory show 0m3k2x9a1b2c3d4e5f6a7b8'], ['As JSON', '$0 memory show ID --json']],
  });
  id = Option.String({ name: 'id' });
  offline = Option.Boolean('--offline', false, { description: 'Read the digest synced into this workspace instead of asking the server' });

  async run() {
    const { result, offline } = await onlineOrLocal(
      this,
      this.offline,
      () => this.authedClient().get<CliMemoryItem>(`/api/memory/${encodeURIComponent(this.id)}`),
      () => {
        const found = localMemory(workspacePaths(this.context.cwd)).find((i) => i.id === this.id);
        if (!found) throw new CliError(`no item ${this.id} in the synced digest (run \`da sync\`, or it is not approved for you)`);
        return found;
      },
    );
    this.emit({ ...result, offline }, () => itemText(result));
  }
}
