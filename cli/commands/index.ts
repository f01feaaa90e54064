import type { CommandClass } from 'clipanion';
import type { DaContext } from '../base.ts';

/** One `da` command: the words that name it, and how to load its class. */
export interface CommandEntry {
  /** The command's `static paths`, repeated here so choosing a command loads nothing (tests/cli-startup.test.ts checks they match). */
  paths: string[][];
  load: () => Promise<CommandClass<DaContext>>;
}

/**
 * Every `da` command, registered by cli/run.ts. Each class is imported only when its command
 * runs (or when everything is needed: completion, an ambiguous command line): a command then
 * loads only its own modules, and `da --help` none (its text is made at build time,
 * scripts/build-cli.ts). Add a command here with the same paths as its class.
 */
export const COMMAND_TABLE: CommandEntry[] = [
  { paths: [['login']], load: () => import('./login.ts').then((m) => m.LoginCommand) },
  { paths: [['logout']], load: () => import('./logout.ts').then((m) => m.LogoutCommand) },
  { paths: [['whoami']], load: () => import('./whoami.ts').then((m) => m.WhoamiCommand) },
  { paths: [['query']], load: () => import('./query.ts').then((m) => m.QueryCommand) },
  { paths: [['sync']], load: () => import('./sync.ts').then((m) => m.SyncCommand) },
  { paths: [['explore']], load: () => import('./explore.ts').then((m) => m.ExploreCommand) },
  { paths: [['status']], load: () => import('./status.ts').then((m) => m.StatusCommand) },
  { paths: [['mcp']], load: () => import('./mcp.ts').then((m) => m.McpCommand) },
  { paths: [['admin', 'add-user']], load: () => import('./admin/add-user.ts').then((m) => m.AdminAddUserCommand) },
  { paths: [['admin', 'remove-user']], load: () => import('./admin/remove-user.ts').then((m) => m.AdminRemoveUserCommand) },
  { paths: [['admin', 'list-users']], load: () => import('./admin/list-users.ts').then((m) => m.AdminListUsersCommand) },
  { paths: [['admin', 'set-role']], load: () => import('./admin/set-role.ts').then((m) => m.AdminSetRoleCommand) },
  { paths: [['admin', 'grant']], load: () => import('./admin/grant.ts').then((m) => m.AdminGrantCommand) },
  { paths: [['admin', 'revoke']], load: () => import('./admin/revoke.ts').then((m) => m.AdminRevokeCommand) },
  { paths: [['admin', 'register-table']], load: () => import('./admin/register-table.ts').then((m) => m.AdminRegisterTableCommand) },
  { paths: [['admin', 'list-tables']], load: () => import('./admin/list-tables.ts').then((m) => m.AdminListTablesCommand) },
  { paths: [['access', 'request']], load: () => import('./access/request.ts').then((m) => m.AccessRequestCommand) },
  { paths: [['access', 'list']], load: () => import('./access/list.ts').then((m) => m.AccessListCommand) },
  { paths: [['skills', 'list'], ['skills']], load: () => import('./skills/list.ts').then((m) => m.SkillsListCommand) },
  { paths: [['skills', 'show']], load: () => import('./skills/show.ts').then((m) => m.SkillsShowCommand) },
  { paths: [['metrics', 'list']], load: () => import('./metrics/list.ts').then((m) => m.MetricsListCommand) },
  { paths: [['metrics', 'show']], load: () => import('./metrics/show.ts').then((m) => m.MetricsShowCommand) },
  { paths: [['metrics', 'value']], load: () => import('./metrics/value.ts').then((m) => m.MetricsValueCommand) },
  { paths: [['memory', 'list']], load: () => import('./memory/list.ts').then((m) => m.MemoryListCommand) },
  { paths: [['memory', 'search']], load: () => import('./memory/search.ts').then((m) => m.MemorySearchCommand) },
  { paths: [['memory', 'show']], load: () => import('./memory/show.ts').then((m) => m.MemoryShowCommand) },
  { paths: [['memory', 'add']], load: () => import('./memory/add.ts').then((m) => m.MemoryAddCommand) },
  { paths: [['memory', 'vote']], load: () => import('./memory/vote.ts').then((m) => m.MemoryVoteCommand) },
  { paths: [['scripts', 'list']], load: () => import('./scripts/list.ts').then((m) => m.ScriptsListCommand) },
  { paths: [['scripts', 'deploy']], load: () => import('./scripts/deploy.ts').then((m) => m.ScriptsDeployCommand) },
  { paths: [['scripts', 'run']], load: () => import('./scripts/run.ts').then((m) => m.ScriptsRunCommand) },
  { paths: [['scripts', 'logs']], load: () => import('./scripts/logs.ts').then((m) => m.ScriptsLogsCommand) },
  { paths: [['scripts', 'undeploy']], load: () => import('./scripts/undeploy.ts').then((m) => m.ScriptsUndeployCommand) },
  { paths: [['diagnose']], load: () => import('./diagnose.ts').then((m) => m.DiagnoseCommand) },
  { paths: [['init']], load: () => import('./init.ts').then((m) => m.InitCommand) },
  { paths: [['telegram', 'link']], load: () => import('./telegram/link.ts').then((m) => m.TelegramLinkCommand) },
  { paths: [['telegram', 'status']], load: () => import('./telegram/status.ts').then((m) => m.TelegramStatusCommand) },
  { paths: [['telegram', 'unlink']], load: () => import('./telegram/unlink.ts').then((m) => m.TelegramUnlinkCommand) },
  { paths: [['notifications']], load: () => import('./notifications/index.ts').then((m) => m.NotificationsCommand) },
  { paths: [['server', 'start']], load: () => import('./server/start.ts').then((m) => m.ServerStartCommand) },
  { paths: [['server', 'backup']], load: () => import('./server/backup.ts').then((m) => m.ServerBackupCommand) },
  { paths: [['server', 'restore']], load: () => import('./server/restore.ts').then((m) => m.ServerRestoreCommand) },
  { paths: [['server', 'status']], load: () => import('./server/kamal.ts').then((m) => m.ServerStatusCommand) },
  { paths: [['server', 'logs']], load: () => import('./server/kamal.ts').then((m) => m.ServerLogsCommand) },
  { paths: [['server', 'deploy']], load: () => import('./server/kamal.ts').then((m) => m.ServerDeployCommand) },
  { paths: [['server', 'rollback']], load: () => import('./server/kamal.ts').then((m) => m.ServerRollbackCommand) },
  { paths: [['server', 'health']], load: () => import('./server/kamal.ts').then((m) => m.ServerHealthCommand) },
  { paths: [['setup', 'init']], load: () => import('./setup/init.ts').then((m) => m.SetupInitCommand) },
  { paths: [['setup', 'test-connection']], load: () => import('./setup/test-connection.ts').then((m) => m.SetupTestConnectionCommand) },
  { paths: [['setup', 'first-sync']], load: () => import('./setup/first-sync.ts').then((m) => m.SetupFirstSyncCommand) },
  { paths: [['setup', 'verify']], load: () => import('./setup/verify.ts').then((m) => m.SetupVerifyCommand) },
];

/** Every command class (loads every command module). */
export function loadAllCommands(): Promise<CommandClass<DaContext>[]> {
  return Promise.all(COMMAND_TABLE.map((c) => c.load()));
}
