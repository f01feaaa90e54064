import type { MemoryItem } from '../../src/memory/service.ts';
import type { MemoryHistoryEntry } from '../../src/repositories/memory.ts';
import { describeAudience } from '../../src/memory/audience.ts';
import { CsrfField } from '../layout.tsx';
import { formatTime } from '../format.ts';
import { DataTable } from '../data-table.tsx';

/** What the pages may offer the reader, from their role. */
export interface MemoryRights {
  /** analyst and up: vote and propose. */
  contribute: boolean;
  /** admin and up: approve, reject, history, every item. */
  review: boolean;
  /** km_admin: mandate, revoke, audience, category. */
  govern: boolean;
}

export interface FieldErrors {
  [field: string]: string | undefined;
}

const STATUSES = ['pending', 'approved', 'mandatory', 'rejected', 'revoked'];

function Status({ status }: { status: string }) {
  const cls = status === 'mandatory' || status === 'approved' ? 'fresh' : status === 'pending' ? 'stale' : 'never';
  return <span class={`badge ${cls}`} data-status={status}>{status}</span>;
}

function Error({ message }: { message?: string }) {
  return message ? <span class="field-error" role="alert">{message}</span> : null;
}

/** The vote buttons of one item: up, down, and take back (the current vote is pressed). */
function VoteForm({ item, csrf, back }: { item: MemoryItem; csrf: string; back: string }) {
  return (
    <form method="post" action={`/memory/${encodeURIComponent(item.id)}/vote`} class="inline" data-testid="vote">
      <CsrfField token={csrf} />
      <input type="hidden" name="back" value={back} />
      <button type="submit" name="vote" value="1" aria-pressed={item.my_vote === 1 ? 'true' : 'false'} aria-label={`Vote up: ${item.title}`}>▲</button>{' '}
      <strong data-testid="score">{item.score}</strong>{' '}
      <button type="submit" name="vote" value="-1" aria-pressed={item.my_vote === -1 ? 'true' : 'false'} aria-label={`Vote down: ${item.title}`}>▼</button>
      {item.my_vote !== 0 ? (
        <>
          {' '}
          <button type="submit" name="vote" value="0">Take back my vote</button>
        </>
      ) : null}
    </form>
  );
}

export interface MemoryListProps {
  items: MemoryItem[];
  nextCursor: string | null;
  query: { q?: string; status?: string; category?: string; tag?: string };
  categories: string[];
  rights: MemoryRights;
  csrf: string;
  /** The submit form again after a refusal. */
  draft?: { values: Record<string, string>; errors: FieldErrors };
}

/** /memory: search and filter the items, vote, and propose a new one. */
export function MemoryListPage({ items, nextCursor, query, categories, rights, csrf, draft }: MemoryListProps) {
  const back = `/memory${Object.keys(query).length ? `?${new URLSearchParams(query as Record<string, string>)}` : ''}`;
  const more = nextCursor ? `/memory?${new URLSearchParams({ ...(query as Record<string, string>), cursor: nextCursor })}` : undefined;
  return (
    <main>
      <h1>Corporate memory</h1>
      <p class="muted">
        What analysts learned about the data, reviewed by admins. Approved items reach every analyst's agent with <code>da sync</code> (in{' '}
        <code>server/docs/knowledge.md</code>); mandatory ones also as rules in <code>.claude/rules/</code>.
        {rights.review ? <> Pending proposals wait in the <a href="/memory/review">review queue</a>.</> : null}
      </p>
      <form method="get" action="/memory" class="filters" role="search">
        <label>
          Search <input type="search" name="q" value={query.q ?? ''} placeholder="words in title, text or tags" />
        </label>
        <label>
          Category
          <select name="category">
            <option value="">any</option>
            {categories.map((c) => <option value={c} selected={query.category === c}>{c}</option>)}
          </select>
        </label>
        <label>
          Tag <input name="tag" value={query.tag ?? ''} size={12} />
        </label>
        <label>
          Status
          <select name="status">
            <option value="">{rights.review ? 'any' : 'approved and mandatory'}</option>
            {STATUSES.map((s) => <option value={s} selected={query.status === s}>{s}</option>)}
          </select>
        </label>
        <button type="submit">Search</button>
        <a href="/memory">Clear</a>
      </form>
      {items.length === 0 ? (
        <p data-testid="no-items">No items match.</p>
      ) : (
        <ul class="columns" data-testid="items">
          {items.map((i) => (
            <li class="col" data-item={i.id}>
              <h3>
                <a href={`/memory/${encodeURIComponent(i.id)}`}>{i.title}</a> <Status status={i.status} />
              </h3>
              <span class="muted">{i.category}{i.tags.length ? ` · ${i.tags.join(', ')}` : ''}</span>
              {rights.contribute && i.status !== 'rejected' && i.status !== 'revoked' ? <VoteForm item={i} csrf={csrf} back={back} /> : <span>score {i.score}</span>}
              <p>{i.content.length > 300 ? `${i.content.slice(0, 299)}…` : i.content}</p>
            </li>
          ))}
        </ul>
      )}
      {more ? <p><a href={more} rel="next">More items</a></p> : null}
      {rights.contribute ? (
        <section aria-labelledby="propose-title">
          <h2 id="propose-title">Propose knowledge</h2>
          <p class="muted">An admin reviews it before anyone else sees it.</p>
          <form method="post" action="/memory" class="stacked short" data-testid="propose">
            <CsrfField token={csrf} />
            <label for="m-title">Title</label>
            <input id="m-title" name="title" required maxlength={200} value={draft?.values.title ?? ''} aria-invalid={draft?.errors.title ? 'true' : undefined} />
            <Error message={draft?.errors.title} />
            <label for="m-content">What is true about the data</label>
            <textarea id="m-content" name="content" required rows={5} class="sql" aria-invalid={draft?.errors.content ? 'true' : undefined}>{draft?.values.content ?? ''}</textarea>
            <Error message={draft?.errors.content} />
            <label for="m-category">Category</label>
            <input id="m-category" name="category" maxlength={64} placeholder="general" value={draft?.values.category ?? ''} list="m-categories" />
            <datalist id="m-categories">{categories.map((c) => <option value={c} />)}</datalist>
            <Error message={draft?.errors.category} />
            <label for="m-tags">Tags (comma-separated)</label>
            <input id="m-tags" name="tags" maxlength={500} value={draft?.values.tags ?? ''} />
            <Error message={draft?.errors.tags} />
            <button type="submit">Propose</button>
          </form>
        </section>
      ) : null}
    </main>
  );
}

export interface MemoryItemProps {
  item: MemoryItem;
  rights: MemoryRights;
  /** The reader may edit it (author while pending, or admin). */
  editable: boolean;
  history: MemoryHistoryEntry[] | undefined;
  /** User ids → emails, for contributors and history. */
  names: Record<string, string>;
  datasets: string[];
  csrf: string;
  errors?: FieldErrors;
}

/** The status buttons a reviewer may press for one item, as form buttons (`formaction` on a shared form). */
export function StatusButtons({ item, rights }: { item: Pick<MemoryItem, 'id' | 'status' | 'title'>; rights: MemoryRights }) {
  const action = `/memory/${encodeURIComponent(item.id)}/status`;
  const mandatory = item.status === 'mandatory';
  const buttons: Array<[string, string]> = [];
  if (item.status !== 'approved' && (!mandatory || rights.govern)) buttons.push(['approved', 'Approve']);
  if (item.status !== 'rejected' && (!mandatory || rights.govern)) buttons.push(['rejected', 'Reject']);
  if (rights.govern && !mandatory && item.status !== 'rejected') buttons.push(['mandatory', 'Mandate']);
  if (rights.govern && (item.status === 'approved' || mandatory)) buttons.push(['revoked', 'Revoke']);
  return (
    <span class="actions">
      {buttons.map(([status, label]) => (
        <button type="submit" formaction={action} name="status" value={status} aria-label={`${label}: ${item.title}`} data-action={status}>{label}</button>
      ))}
    </span>
  );
}

/** /memory/<id>: the item, votes, editing, and for admins its history and governance. */
export function MemoryItemPage({ item, rights, editable, history, names, datasets, csrf, errors = {} }: MemoryItemProps) {
  const who = (id: string | null) => (id ? (names[id] ?? id) : 'extraction job');
  const audience = item.audience;
  return (
    <main>
      <p><a href="/memory">← Corporate memory</a></p>
      <h1>{item.title} <Status status={item.status} /></h1>
      <p class="muted">
        {item.category}{item.tags.length ? ` · tags: ${item.tags.join(', ')}` : ''} · for {describeAudience(item.audience)} · from {item.source ?? 'unknown'} · contributors:{' '}
        {item.contributors.map(who).join(', ') || 'none'}
      </p>
      <div data-testid="content"><p>{item.content}</p></div>
      {rights.contribute && item.status !== 'rejected' && item.status !== 'revoked' ? <VoteForm item={item} csrf={csrf} back={`/memory/${item.id}`} /> : <p>score {item.score}</p>}
      {rights.review ? (
        <section aria-labelledby="govern-title">
          <h2 id="govern-title">Review</h2>
          <form method="post" action={`/memory/${encodeURIComponent(item.id)}/status`} class="stacked short" data-testid="govern">
            <CsrfField token={csrf} />
            <label for="g-note">Note (why; the contributors are told)</label>
            <input id="g-note" name="note" maxlength={2000} />
            {rights.govern ? (
              <>
                <label for="g-category">Category</label>
                <input id="g-category" name="category" value={item.category} maxlength={64} />
                <Error message={errors.category} />
                <fieldset data-testid="audience-editor">
                  <legend>Audience (nothing ticked and no users: everyone)</legend>
                  <p>Roles</p>
                  <ul class="checks">
                    {['viewer', 'analyst', 'admin', 'km_admin'].map((r) => (
                      <li><label><input type="checkbox" name="roles[]" value={r} checked={audience?.roles?.includes(r as never)} /> {r}</label></li>
                    ))}
                  </ul>
                  <p>Readers of the datasets</p>
                  <ul class="checks">
                    {datasets.map((d) => (
                      <li><label><input type="checkbox" name="datasets[]" value={d} checked={audience?.datasets?.includes(d)} /> {d}</label></li>
                    ))}
                  </ul>
                  <label for="g-users">Users (emails, comma-separated)</label>
                  <input id="g-users" name="users" value={(audience?.users ?? []).map(who).join(', ')} />
                  <Error message={errors.audience} />
                  <p><button type="submit" formaction={`/memory/${encodeURIComponent(item.id)}/audience`} data-action="audience">Save audience and category{item.status === 'pending' ? ' (approves it)' : ''}</button></p>
                </fieldset>
              </>
            ) : null}
            <p><StatusButtons item={item} rights={rights} /></p>
          </form>
        </section>
      ) : null}
      {editable ? (
        <section aria-labelledby="edit-title">
          <h2 id="edit-title">Edit</h2>
          <form method="post" action={`/memory/${encodeURIComponent(item.id)}/edit`} class="stacked short" data-testid="edit">
            <CsrfField token={csrf} />
            <label for="e-title">Title</label>
            <input id="e-title" name="title" required maxlength={200} value={item.title} />
            <Error message={errors.title} />
            <label for="e-content">Text</label>
            <textarea id="e-content" name="content" required rows={6} class="sql">{item.content}</textarea>
            <Error message={errors.content} />
            <label for="e-tags">Tags (comma-separated)</label>
            <input id="e-tags" name="tags" value={item.tags.join(', ')} />
            <button type="submit">Save</button>
          </form>
        </section>
      ) : null}
      {history ? (
        <section aria-labelledby="history-title">
          <h2 id="history-title">History</h2>
          <ol data-testid="history">
            {history.map((h) => (
              <li>
                {formatTime(h.at)} · {who(h.actor)} · {h.action}
                {h.action === 'status' && h.from_status !== h.to_status ? ` ${h.from_status} → ${h.to_status}` : ''}
                {h.changes && (h.changes.audience !== undefined || h.changes.category !== undefined) ? ` (set ${Object.keys(h.changes).filter((k) => k !== 'status').join(' and ')})` : ''}
                {h.note ? <span class="muted"> · {h.note}</span> : null}
              </li>
            ))}
          </ol>
        </section>
      ) : null}
    </main>
  );
}

export interface MemoryReviewProps {
  pending: MemoryItem[];
  published: MemoryItem[];
  rights: MemoryRights;
  names: Record<string, string>;
  csrf: string;
}

function ReviewTable({ items, rights, names, caption, testId }: { items: MemoryItem[]; rights: MemoryRights; names: Record<string, string>; caption: string; testId: string }) {
  return (
    <DataTable testId={testId} caption={caption} showCaption stack columns={[{ label: <span class="visually-hidden">Select</span> }, 'Item', 'Category', 'From', 'Score', 'Decide']}>
      {items.map((i) => (
        <tr data-item={i.id}>
          <td><input type="checkbox" name="ids[]" value={i.id} aria-label={`Select ${i.title}`} /></td>
          <th scope="row">
            <a href={`/memory/${encodeURIComponent(i.id)}`}>{i.title}</a> <Status status={i.status} />
            <br />
            <span class="muted">{i.content.length > 160 ? `${i.content.slice(0, 159)}…` : i.content}</span>
          </th>
          <td data-label="Category">{i.category}</td>
          <td data-label="From">
            {i.contributors.map((c) => names[c] ?? c).join(', ')}
            <br />
            {/* The file name only: a full upload path pushed the Decide column out of view. */}
            <span class="muted" title={i.source ?? undefined}>{i.source?.split('/').pop()}</span>
          </td>
          <td data-label="Score" class="num">{i.score}</td>
          <td data-label="Decide"><StatusButtons item={i} rights={rights} /></td>
        </tr>
      ))}
    </DataTable>
  );
}

/** /memory/review: the queue of pending items, decided one by one or ticked and decided together. */
export function MemoryReviewPage({ pending, published, rights, names, csrf }: MemoryReviewProps) {
  return (
    <main>
      <h1>Review corporate memory</h1>
      <p class="muted">
        Approve what is true and useful; reject the rest (a rejected item is never proposed again).
        {rights.govern ? ' Mandate what every agent must follow (it becomes a rule in .claude/rules/), revoke what no longer holds; set audiences on an item\'s page.' : ' Mandating and revoking are for km_admins.'}
      </p>
      <form method="post" action="/memory/review" data-testid="review">
        <CsrfField token={csrf} />
        <label>
          Note for the decision <input name="note" maxlength={2000} size={40} />
        </label>
        {pending.length === 0 ? (
          <p data-testid="no-pending">Nothing waits for review.</p>
        ) : (
          <ReviewTable items={pending} rights={rights} names={names} caption={`Pending (${pending.length})`} testId="pending" />
        )}
        {rights.govern && published.length ? (
          <ReviewTable items={published} rights={rights} names={names} caption="Approved and mandatory" testId="published" />
        ) : null}
        <fieldset>
          <legend>With the ticked items</legend>
          <span class="actions">
            <button type="submit" name="status" value="approved" data-action="batch-approved">Approve ticked</button>
            <button type="submit" name="status" value="rejected" data-action="batch-rejected">Reject ticked</button>
            {rights.govern ? <button type="submit" name="status" value="mandatory" data-action="batch-mandatory">Mandate ticked</button> : null}
            {rights.govern ? <button type="submit" name="status" value="revoked" data-action="batch-revoked">Revoke ticked</button> : null}
          </span>
        </fieldset>
      </form>
    </main>
  );
}
