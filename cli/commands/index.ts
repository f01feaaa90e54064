import { LoginCommand } from './login.ts';
import { LogoutCommand } from './logout.ts';
import { QueryCommand } from './query.ts';
import { SyncCommand } from './sync.ts';
import { WhoamiCommand } from './whoami.ts';

/** Every `da` command class, registered by cli/run.ts. */
export const COMMANDS = [LoginCommand, LogoutCommand, WhoamiCommand, QueryCommand, SyncCommand];
