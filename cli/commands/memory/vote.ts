import { Command, Option, UsageError } from 'clipanion';
import { BaseCommand } from '../../base.ts';
import type { CliMemoryItem } from '../../memory.ts';

const VOTES: Record<string, -1 | 0 | 1> = { up: 1, '+1': 1, '1': 1, down: -1, '-1': -1, clear: 0, '0': 0 };

/** `da memory vote ID up|down|clear`: your vote on an item (replaces an earlier one). */
export class MemoryVoteCommand extends BaseCommand {
  static paths = [['memory', 'vote']];
  static usage = Command.Usage({
    category: 'Knowledge',
    description: 'Vote on a corporate memory item: up, down, or clear (takes your vote back)',
    examples: [['Up', '$0 memory vote ID up'], ['Take it back, as JSON', '$0 memory vote ID clear --json']],
  });
  id = Option.String({ name: 'id' });
  vote = Option.String({ name: 'up|down|clear' });

  async run() {
    const vote = VOTES[this.vote];
    if (vote === undefined) throw new UsageError(`vote must be up, down or clear (or 1, -1, 0), not ${this.vote}`);
    const item = await this.authedClient().post<CliMemoryItem>(`/api/memory/${encodeURIComponent(this.id)}/vote`, { vote });
    this.emit(item, () => `${item.title}: score ${item.score}, your vote ${item.my_vote ?? vote}`);
  }
}
