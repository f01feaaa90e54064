/** One row of the home page's table list. */
export interface HomeTable {
  id: string;
  description: string | null;
  rows: number | null;
  size_bytes: number | null;
  last_sync: string | null;
  status: string;
}

function formatBytes(n: number | null): string {
  if (n === null) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) (v /= 1024), i++;
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** The signed-in start page: how to get `da`, and the tables this user may read. */
export function HomePage({ origin, tables }: { origin: string; tables: HomeTable[] }) {
  return (
    <main>
      <h1>Your data</h1>
      <section>
        <h2>Install the da command line</h2>
        <p>One command installs <code>da</code> (one file, DuckDB inside) for your operating system:</p>
        <pre data-testid="install-command">curl -fsSL {origin}/cli/install.sh | sh</pre>
        <p>Then sign in and fetch the tables you may read; after that, queries work offline:</p>
        <pre>{`da login --server ${origin}\nda sync\nda query "SELECT 42"`}</pre>
        <p class="note">
          AI agents: every command takes <code>--json</code>; <code>da skills list</code> explains the rest. The API is described at{' '}
          <a href="/api/docs">/api/docs</a>.
        </p>
      </section>
      <section>
        <h2>Tables you can read ({tables.length})</h2>
        {tables.length === 0 ? (
          <p class="note">No tables yet: an administrator registers sources and grants datasets.</p>
        ) : (
          <table data-testid="tables">
            <thead>
              <tr>
                <th>Table</th>
                <th>Description</th>
                <th class="num">Rows</th>
                <th class="num">Size</th>
                <th>Last sync</th>
              </tr>
            </thead>
            <tbody>
              {tables.map((t) => (
                <tr>
                  <td>
                    <code>{t.id}</code>
                    {t.status === 'error' ? <span class="error"> (last sync failed)</span> : null}
                  </td>
                  <td>{t.description ?? ''}</td>
                  <td class="num">{t.rows?.toLocaleString('en') ?? ''}</td>
                  <td class="num">{formatBytes(t.size_bytes)}</td>
                  <td>{t.last_sync ? t.last_sync.slice(0, 16).replace('T', ' ') + ' UTC' : 'never'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </main>
  );
}
