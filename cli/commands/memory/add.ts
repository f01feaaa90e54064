import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option, UsageError } from 'clipanion';
import { BaseCommand } from '../../base.ts';
import { CliError } from '../../errors.ts';
import { itemText, type CliMemoryItem } from '../../memory.ts';

/** `da memory add TITLE --content TEXT`: propose an item (pending until an admin approves it). */
export class MemoryAddCommand extends BaseCommand {
  static paths = [['memory', 'add']];
  static usage = Command.Usage({
    category: 'Knowledge',
    description: 'Propose knowledge for the corporate memory (an admin reviews it)',
    examples: [
      ['Propose', '$0 memory add "Revenue excludes VAT" --content "orders.amount is net of VAT" --category sales --tags revenue,vat'],
      ['Text from a file, as JSON', '$0 memory add "Churn" --file churn.md --json'],
    ],
  });
  title = Option.String({ name: 'title' });
  content = Option.String('--content', { description: 'The text of the item' });
  file = Option.String('--file', { description: 'Read the text from this file instead' });
  category = Option.String('--category', { description: 'Category (default: general)' });
  tags = Option.String('--tags', { description: 'Comma-separated tags' });

  async run() {
    if (Boolean(this.content) === Boolean(this.file)) throw new UsageError('give the text with either --content or --file');
    let content = this.content;
    if (this.file) {
      try {
        content = readFileSync(resolve(this.context.cwd, this.file), 'utf8');
      } catch (err) {
        throw new CliError(`cannot read ${this.file}: ${(err as Error).message}`);
      }
    }
    const tags = this.tags?.split(',').map((t) => t.trim()).filter(Boolean);
    const item = await this.authedClient().post<CliMemoryItem>('/api/memory', { title: this.title, content, category: this.category, tags });
    this.emit(item, () => [`proposed (pending review): ${item.id}`, '', itemText(item)]);
  }
}
