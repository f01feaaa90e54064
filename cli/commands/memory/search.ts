import { Command, Option } from 'clipanion';
import { MemoryQueryCommand } from './list.ts';

/** `da memory search WORDS`: items whose title, text or tags hold every word. */
export class MemorySearchCommand extends MemoryQueryCommand {
  static paths = [['memory', 'search']];
  static usage = Command.Usage({
    category: 'Knowledge',
    description: 'Search the corporate memory (every word must occur in the title, text, tags or category)',
    examples: [['Search', '$0 memory search revenue vat'], ['Offline, as JSON', '$0 memory search churn --offline --json']],
  });
  words = Option.Rest({ required: 1 });

  async run() {
    await this.query(this.words.join(' '));
  }
}
