import { Command } from 'clipanion';
import { BaseCommand } from '../../base.ts';
import { formatTable } from '../../format.ts';
import type { RemoteScript } from './shared.ts';

/** `da scripts list`: your deployed scripts (every one for admins). */
export class ScriptsListCommand extends BaseCommand {
  static paths = [['scripts', 'list']];
  static usage = Command.Usage({
    category: 'Scripts',
    description: 'List your deployed scripts with their schedule and last run (admins: every script)',
    examples: [['Your scripts', '$0 scripts list'], ['As JSON', '$0 scripts list --json']],
  });

  async run() {
    const scripts = await this.authedClient().get<RemoteScript[]>('/api/scripts');
    this.emit(scripts, () =>
      scripts.length
        ? formatTable(['name', 'language', 'schedule', 'enabled', 'last run', 'status'], scripts.map((s) => [
            s.name, s.language, s.schedule ?? '-', s.enabled ? 'yes' : 'no', s.last_run?.queued_at ?? '-', s.last_run?.status ?? '-',
          ]))
        : 'no scripts (deploy one: da scripts deploy FILE)',
    );
  }
}
