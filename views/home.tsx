import type { Freshness } from '../src/sync/freshness.ts';
import { TableList, tableHref, type TableListRow } from './catalog/shared.tsx';
import { formatAge, formatBytes, formatCount, formatTime } from './format.ts';
import { DataTable, num } from './data-table.tsx';

/** One row of the dashboard's table list. */
export type HomeTable = TableListRow;

/** One server-side sync of one of the user's tables. */
export interface HomeSync {
  table_id: string;
  synced_at: string;
  status: string;
  rows: number | null;
  duration_ms: number | null;
  /** Why it failed: admins only. */
  error: string | null;
}

export interface HomeUpload {
  kind: string;
  name: string;
  size_bytes: number;
  modified_at: string;
}

export interface HomePageProps {
  origin: string;
  /** False when the installers would refuse this address (no base_url and a Host that is not this machine's). */
  installerOk?: boolean;
  now: number;
  /** How many of the user's tables are in each state, and all of them. */
  counts: Record<Freshness, number>;
  total: number;
  staleAfter: string;
  /** The tables to show: those that need attention first, then the most recently synced. */
  tables: HomeTable[];
  syncs: HomeSync[];
  /** Analysts and above (who upload with `da sync`): their uploads. */
  uploads?: { files: number; bytes: number; recent: HomeUpload[] };
  /** Mandatory knowledge items (corporate memory); undefined when the feature does not exist. */
  mandatoryKnowledge?: number;
  telegram: { linked: boolean; linked_at: string | null };
}

const STATE_TEXT: Record<Freshness, string> = { fresh: 'Fresh', stale: 'Stale', failed: 'Last sync failed', never: 'Never synced', remote: 'Queried in place' };

/** The signed-in start page: my tables' freshness, how to get `da`, my syncs and uploads, knowledge, Telegram. */
export function HomePage(p: HomePageProps) {
  const attention = p.counts.stale + p.counts.failed;
  return (
    <main>
      <h1>Dashboard</h1>

      <section aria-labelledby="fresh-title">
        <h2 id="fresh-title">Your tables ({formatCount(p.total)})</h2>
        <ul class="cards" data-testid="freshness">
          {(['fresh', 'stale', 'failed', 'never', 'remote'] as const).filter((f) => f !== 'remote' || p.counts.remote > 0).map((f) => (
            <li data-state={f}>
              {STATE_TEXT[f]}
              <strong>{formatCount(p.counts[f])}</strong>
            </li>
          ))}
        </ul>
        <p class="note">
          A table is stale when its last sync is older than {p.staleAfter}.{' '}
          {attention ? (
            <a href="/catalog?freshness=stale">Show the stale tables</a>
          ) : null}
        </p>
        {p.tables.length === 0 ? (
          <p class="note">No tables yet: an administrator registers sources and grants datasets.</p>
        ) : (
          <TableList
            rows={p.tables}
            testId="tables"
            caption={p.tables.length < p.total ? `${p.tables.length} of ${formatCount(p.total)}, those that need attention first` : 'Those that need attention first'}
            lastSync={(t) => <span title={formatTime(t.last_sync)}>{formatAge(t.last_sync, p.now)}</span>}
          />
        )}
        {p.tables.length < p.total ? (
          <p>
            <a href="/catalog">All {formatCount(p.total)} tables in the catalog</a>
          </p>
        ) : null}
      </section>

      <section aria-labelledby="install-title">
        <h2 id="install-title">Install the da command line</h2>
        <p>One command installs <code>da</code> (one file, DuckDB inside). On macOS and Linux, in a terminal:</p>
        <pre data-testid="install-command">curl -fsSL {p.origin}/cli/install.sh | sh</pre>
        <p>On Windows, in PowerShell:</p>
        <pre data-testid="install-command-windows">irm {p.origin}/cli/install.ps1 | iex</pre>
        {p.installerOk === false ? (
          <p class="note" data-testid="install-unavailable">
            This server does not know its public address yet, so the installers refuse to name it: an administrator sets{' '}
            <code>instance.base_url</code> (or <code>DA_BASE_URL</code>).
          </p>
        ) : null}
        <p>
          Or download it yourself: <code>{p.origin}/cli/da-&lt;os&gt;-&lt;arch&gt;</code> for <code>darwin-arm64</code>,{' '}
          <code>darwin-x64</code>, <code>linux-x64</code>, <code>linux-arm64</code> and <code>windows-x64.exe</code>, each with
          its checksum at <code>….sha256</code> (<a href="/cli/da" download>da for this server's platform</a>).
        </p>
        <p>Then sign in and fetch the tables you may read; after that, queries work offline:</p>
        <pre data-testid="setup-commands">{`da login --server ${p.origin}\nda sync\nda query "SELECT 42"`}</pre>
        <p class="note">
          AI agents: every command takes <code>--json</code>; <code>da skills list</code> explains the rest. The API is described at{' '}
          <a href="/api/docs">/api/docs</a>.
        </p>
      </section>

      <section aria-labelledby="syncs-title">
        <h2 id="syncs-title">Last syncs of your tables</h2>
        {p.syncs.length === 0 ? (
          <p class="note">The server has not synced any of your tables yet.</p>
        ) : (
          <DataTable testId="syncs" stack columns={['When', 'Table', 'Result', num('Rows'), num('Took')]}>
            {p.syncs.map((s) => (
              <tr>
                <td data-label="When">{formatTime(s.synced_at)}</td>
                <th scope="row">
                  <a href={tableHref(s.table_id)}>
                    <code>{s.table_id}</code>
                  </a>
                </th>
                <td data-label="Result">
                  {s.status === 'ok' ? 'ok' : <span class="error">failed{s.error ? `: ${s.error}` : ''}</span>}
                </td>
                <td class="num" data-label="Rows">{formatCount(s.rows)}</td>
                <td class="num" data-label="Took">{s.duration_ms === null ? '' : `${formatCount(s.duration_ms)} ms`}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </section>

      {p.uploads ? (
        <section aria-labelledby="uploads-title">
          <h2 id="uploads-title">Your uploads</h2>
          {p.uploads.files === 0 ? (
            <p class="note" data-testid="uploads">
              None yet. <code>da sync</code> uploads your AI session transcripts, artifacts and <code>CLAUDE.local.md</code>.
            </p>
          ) : (
            <>
              <p data-testid="uploads">
                {formatCount(p.uploads.files)} {p.uploads.files === 1 ? 'file' : 'files'}, {formatBytes(p.uploads.bytes)}. The latest:
              </p>
              <ul>
                {p.uploads.recent.map((u) => (
                  <li>
                    <code>{u.kind === 'local-md' ? u.name : `${u.kind}/${u.name}`}</code> ({formatBytes(u.size_bytes)}, {formatAge(u.modified_at, p.now)})
                  </li>
                ))}
              </ul>
            </>
          )}
        </section>
      ) : null}

      {p.mandatoryKnowledge !== undefined ? (
        <section aria-labelledby="knowledge-title">
          <h2 id="knowledge-title">Mandatory knowledge</h2>
          <p data-testid="mandatory-knowledge">
            {p.mandatoryKnowledge === 0
              ? 'No mandatory knowledge items yet.'
              : `${formatCount(p.mandatoryKnowledge)} mandatory ${p.mandatoryKnowledge === 1 ? 'item' : 'items'} of the corporate memory.`}
          </p>
        </section>
      ) : null}

      <section aria-labelledby="telegram-title">
        <h2 id="telegram-title">Telegram</h2>
        <p data-testid="telegram">
          {p.telegram.linked
            ? `Linked${p.telegram.linked_at ? ` since ${formatTime(p.telegram.linked_at)}` : ''}.`
            : (
              <>
                Not linked. Link a Telegram chat in <a href="/settings#telegram-title">your settings</a> to get your notifications there.
              </>
            )}
        </p>
      </section>
    </main>
  );
}
