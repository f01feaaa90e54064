import { Command } from 'clipanion';
import { BaseCommand } from '../../base.ts';
import { SKILLS, skillTitle } from '../../skills.ts';

/** `da skills list`. */
export class SkillsListCommand extends BaseCommand {
  static paths = [['skills', 'list'], ['skills']];
  static usage = Command.Usage({
    category: 'Help',
    description: 'List the built-in skills (how-to guides for AI agents)',
    details: 'Skills are markdown guides built into da; they work offline. Show one with `da skills show NAME`.',
    examples: [['List skills', '$0 skills list --json']],
  });

  async run() {
    const items = Object.entries(SKILLS).map(([name, md]) => ({ name, title: skillTitle(md) }));
    this.emit({ items }, () => items.map((s) => `${s.name.padEnd(18)} ${s.title}`));
  }
}
