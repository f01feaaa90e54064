import setup from './skills/setup.md' with { type: 'text' };
import sync from './skills/sync.md' with { type: 'text' };
import query from './skills/query.md' with { type: 'text' };
import troubleshoot from './skills/troubleshoot.md' with { type: 'text' };
import connectors from './skills/connectors.md' with { type: 'text' };
import notifications from './skills/notifications.md' with { type: 'text' };
import corporateMemory from './skills/corporate-memory.md' with { type: 'text' };
import security from './skills/security.md' with { type: 'text' };
import backupRestore from './skills/backup-restore.md' with { type: 'text' };
import upgrade from './skills/upgrade.md' with { type: 'text' };

/** The skills embedded in the binary: name → markdown. */
export const SKILLS: Record<string, string> = {
  setup,
  sync,
  query,
  troubleshoot,
  connectors,
  notifications,
  'corporate-memory': corporateMemory,
  security,
  'backup-restore': backupRestore,
  upgrade,
};

/** A skill's one-line summary: its first heading. */
export function skillTitle(markdown: string): string {
  return /^#\s+(.+)$/m.exec(markdown)?.[1]?.trim() ?? '';
}
