import { DiagnoseCommand } from './diagnose.ts';
import { InitCommand } from './init.ts';
import { SkillsListCommand } from './skills/list.ts';
import { SkillsShowCommand } from './skills/show.ts';
import { AdminAddUserCommand } from './admin/add-user.ts';
import { AdminRemoveUserCommand } from './admin/remove-user.ts';
import { AdminListUsersCommand } from './admin/list-users.ts';
import { AdminSetRoleCommand } from './admin/set-role.ts';
import { AdminGrantCommand } from './admin/grant.ts';
import { AdminRevokeCommand } from './admin/revoke.ts';
import { AdminRegisterTableCommand } from './admin/register-table.ts';
import { AdminListTablesCommand } from './admin/list-tables.ts';
import { AccessListCommand } from './access/list.ts';
import { AccessRequestCommand } from './access/request.ts';
import { LoginCommand } from './login.ts';
import { MetricsListCommand } from './metrics/list.ts';
import { MetricsShowCommand } from './metrics/show.ts';
import { MetricsValueCommand } from './metrics/value.ts';
import { MemoryListCommand } from './memory/list.ts';
import { MemorySearchCommand } from './memory/search.ts';
import { MemoryShowCommand } from './memory/show.ts';
import { MemoryAddCommand } from './memory/add.ts';
import { MemoryVoteCommand } from './memory/vote.ts';
import { ScriptsDeployCommand } from './scripts/deploy.ts';
import { ScriptsListCommand } from './scripts/list.ts';
import { ScriptsLogsCommand } from './scripts/logs.ts';
import { ScriptsRunCommand } from './scripts/run.ts';
import { ScriptsUndeployCommand } from './scripts/undeploy.ts';
import { LogoutCommand } from './logout.ts';
import { McpCommand } from './mcp.ts';
import { ExploreCommand } from './explore.ts';
import { QueryCommand } from './query.ts';
import { StatusCommand } from './status.ts';
import { SyncCommand } from './sync.ts';
import { WhoamiCommand } from './whoami.ts';
import { TelegramLinkCommand } from './telegram/link.ts';
import { TelegramStatusCommand } from './telegram/status.ts';
import { TelegramUnlinkCommand } from './telegram/unlink.ts';
import { NotificationsCommand } from './notifications/index.ts';
import { ServerStartCommand } from './server/start.ts';
import { SetupInitCommand } from './setup/init.ts';
import { SetupTestConnectionCommand } from './setup/test-connection.ts';
import { SetupFirstSyncCommand } from './setup/first-sync.ts';
import { SetupVerifyCommand } from './setup/verify.ts';
import { ServerBackupCommand } from './server/backup.ts';
import { ServerRestoreCommand } from './server/restore.ts';
import { ServerDeployCommand, ServerHealthCommand, ServerLogsCommand, ServerRollbackCommand, ServerStatusCommand } from './server/kamal.ts';

/** Every `da` command class, registered by cli/run.ts. */
export const COMMANDS = [LoginCommand, LogoutCommand, WhoamiCommand, QueryCommand, SyncCommand, ExploreCommand, StatusCommand, McpCommand,
  AdminAddUserCommand, AdminRemoveUserCommand, AdminListUsersCommand, AdminSetRoleCommand, AdminGrantCommand, AdminRevokeCommand, AdminRegisterTableCommand, AdminListTablesCommand,
  AccessRequestCommand, AccessListCommand,
  SkillsListCommand, SkillsShowCommand,
  MetricsListCommand, MetricsShowCommand, MetricsValueCommand,
  MemoryListCommand, MemorySearchCommand, MemoryShowCommand, MemoryAddCommand, MemoryVoteCommand,
  ScriptsListCommand, ScriptsDeployCommand, ScriptsRunCommand, ScriptsLogsCommand, ScriptsUndeployCommand,
  DiagnoseCommand, InitCommand,
  TelegramLinkCommand, TelegramStatusCommand, TelegramUnlinkCommand, NotificationsCommand,
  ServerStartCommand, ServerBackupCommand, ServerRestoreCommand,
  ServerStatusCommand, ServerLogsCommand, ServerDeployCommand, ServerRollbackCommand, ServerHealthCommand,
  SetupInitCommand, SetupTestConnectionCommand, SetupFirstSyncCommand, SetupVerifyCommand,
];
