import { Command, Option, UsageError, type BaseContext } from 'clipanion';
import { createClient, type Client } from './client.ts';
import { createConfigStore, type ConfigStore } from './config.ts';
import { CliError, errorDetail, EXIT, oneLine, wantsDetail } from './errors.ts';
import { lostLine, settleFlushJournal } from './durability.ts';
import { ensureViewsHere } from './workspace-repair.ts';
import type { WorkspacePaths } from './workspace.ts';

/** What every command gets besides stdio: the working directory (tests run the CLI in-process). */
export interface DaContext extends BaseContext {
  cwd: string;
}

/**
 * The base of every `da` command: `--server` and `--json`, config and client access, and
 * one error path. Subclasses implement `run()`; it returns an exit code (default 0) or
 * throws: CliError → its code, UsageError → 2, anything else → 1 with a one-line message.
 */
export abstract class BaseCommand extends Command<DaContext> {
  server = Option.String('--server', { description: 'Server URL (default: $DA_SERVER, else the server you logged in to)' });
  json = Option.Boolean('--json', false, { description: 'Print one JSON document on stdout and nothing else there' });
  verbose = Option.Boolean('--verbose', false, { description: 'On failure, also print the full error detail (same as DA_DEBUG=1)' });

  abstract run(): Promise<number | void>;

  private storeCache?: ConfigStore;

  /** Config, token and sync state under $DA_CONFIG_DIR. */
  get store(): ConfigStore {
    return (this.storeCache ??= createConfigStore(this.context.env));
  }

  /** The server URL in effect (flag, env, config), or undefined. */
  serverUrl(): string | undefined {
    return this.store.resolveServer(this.server);
  }

  /** An API client for the server in effect, signed in when a token is available. */
  client(): Client {
    const server = this.serverUrl();
    return createClient(server, this.store.resolveToken(server));
  }

  /** Like client(), but fails with a hint when there is no token. */
  authedClient(): Client {
    const c = this.client();
    if (!c.server) throw new CliError('no server configured: run `da login --server URL` or set DA_SERVER');
    if (!c.token) throw new CliError(`not logged in to ${c.server}: run \`da login\` (or set DA_TOKEN)`);
    return c;
  }

  /**
   * Before reading the workspace: views that read another folder's files (the workspace was
   * moved or copied) or that are missing are rebuilt, with one line on stderr; files an earlier
   * sync renamed without waiting for the disk are settled (cli/durability.ts).
   */
  async repairWorkspace(ws: WorkspacePaths): Promise<void> {
    const { lost } = await settleFlushJournal(ws, this.context.env);
    if (lost.length) this.context.stderr.write(`da: ${lostLine(lost)}; run da sync to download ${lost.length === 1 ? 'it' : 'them'} again\n`);
    const fixed = await ensureViewsHere(this.store.paths.dir, ws);
    if (fixed.length) this.context.stderr.write(`da: rebuilt the local views for this folder (${fixed.length} were wrong, e.g. ${fixed[0]})\n`);
  }

  /** Whether to print full error detail (`--verbose` or DA_DEBUG=1). */
  get detailed(): boolean {
    return wantsDetail(this.verbose, this.context.env);
  }

  /** Prints the result: the JSON document with --json, else the human text. */
  emit(data: unknown, human: () => string | string[] | undefined): void {
    if (this.json) {
      this.context.stdout.write(JSON.stringify(data, null, 2) + '\n');
      return;
    }
    const text = human();
    if (text === undefined) return;
    const s = Array.isArray(text) ? text.join('\n') : text;
    if (s) this.context.stdout.write(s.endsWith('\n') ? s : s + '\n');
  }

  async execute(): Promise<number> {
    try {
      return (await this.run()) ?? EXIT.ok;
    } catch (err) {
      return this.fail(err);
    }
  }

  private fail(err: unknown): number {
    let code: number = EXIT.failure;
    let message: string;
    let details: Record<string, unknown> = {};
    if (err instanceof CliError) {
      code = err.exitCode;
      message = err.message;
      details = err.details;
    } else if (err instanceof UsageError) {
      code = EXIT.usage;
      message = err.message;
    } else if (err instanceof Error) {
      message = err.message || err.name;
    } else {
      message = String(err);
    }
    const line = oneLine(message);
    this.context.stderr.write(`da: ${line}${code === EXIT.usage ? ` (see: da ${this.path.join(' ')} --help)` : ''}\n`);
    if (this.detailed && code !== EXIT.usage) this.context.stderr.write(`${errorDetail(err)}\n`);
    if (this.json) {
      const { problem: _p, ...rest } = details;
      this.context.stdout.write(JSON.stringify({ error: { message: line, exit_code: code, ...rest } }) + '\n');
    }
    return code;
  }
}
