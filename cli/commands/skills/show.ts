import { Command, Option } from 'clipanion';
import { BaseCommand } from '../../base.ts';
import { CliError } from '../../errors.ts';
import { SKILLS, skillTitle } from '../../skills.ts';

/** `da skills show NAME`. */
export class SkillsShowCommand extends BaseCommand {
  static paths = [['skills', 'show']];
  static usage = Command.Usage({
    category: 'Help',
    description: 'Print one built-in skill (markdown)',
    examples: [
      ['How to sync', '$0 skills show sync'],
      ['As JSON ({name, title, markdown})', '$0 skills show query --json'],
    ],
  });
  name = Option.String({ name: 'name' });

  async run() {
    const md = SKILLS[this.name];
    if (!md) throw new CliError(`no skill ${this.name}; available: ${Object.keys(SKILLS).join(', ')}`, 1, { available: Object.keys(SKILLS) });
    this.emit({ name: this.name, title: skillTitle(md), markdown: md }, () => md);
  }
}
