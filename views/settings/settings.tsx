import { CsrfField } from '../layout.tsx';
import { FieldErrorText } from '../catalog/shared.tsx';
import { formatTime } from '../format.ts';
import type { PersonalAccessToken } from '../../src/repositories/tokens.ts';
import type { EventChannels } from '../../src/notify/preferences.ts';
import { DataTable } from '../data-table.tsx';

/** One personal access token as listed (never its secret). */
export type TokenRow = Omit<PersonalAccessToken, 'user_id'>;

/** One dataset the user may sync, with its tables and what the settings choose. */
export interface SyncDataset {
  name: string;
  description: string | null;
  tables: string[];
  /** Fetched by `da sync` at all (no setting: yes). */
  enabled: boolean;
  mode: 'all' | 'explicit';
  /** With `explicit`: the chosen table names. */
  chosen: string[];
}

/** Which form the errors and posted values belong to, when one was refused. */
export interface SettingsFormState {
  form: 'profile' | 'password' | 'token' | 'sync' | 'telegram' | 'notifications';
  errors: Array<{ path: string; message: string }>;
  values: Record<string, string | string[]>;
}

export interface SettingsPageProps {
  user: { email: string; name: string | null; role: string };
  tokens: TokenRow[];
  /** Analysts and above: per-dataset sync settings. */
  sync?: SyncDataset[];
  telegram: { linked: boolean; linked_at: string | null; bot_enabled?: boolean; bot_username?: string | null };
  /** Each kind of notification with the channels that carry it (absent: no notification settings shown). */
  channels?: EventChannels[];
  /** What each kind of notification is, in words. */
  eventLabels?: Record<string, string>;
  expiryChoices: ReadonlyArray<readonly [string, string]>;
  state?: SettingsFormState;
  now: number;
  /** False when the server has passwords turned off (auth.password): no password section. */
  passwords?: boolean;
  csrf: string;
}

/** The status of a token in words. */
function tokenStatus(t: TokenRow, now: number): string {
  if (t.revoked_at) return `revoked ${formatTime(t.revoked_at)}`;
  if (t.expires_at && Date.parse(t.expires_at) <= now) return `expired ${formatTime(t.expires_at)}`;
  return t.expires_at ? `active until ${formatTime(t.expires_at)}` : 'active, no expiry';
}

/** Labelled input with its error, for the stacked forms. */
function Field(props: {
  id: string;
  name: string;
  label: string;
  type?: string;
  value?: string;
  autocomplete?: string;
  required?: boolean;
  error?: string;
  hint?: string;
  maxlength?: number;
}) {
  const described = [props.hint ? `${props.id}-hint` : '', props.error ? `${props.id}-error` : ''].filter(Boolean).join(' ');
  return (
    <>
      <label for={props.id}>{props.label}</label>
      {props.hint ? <p class="note" id={`${props.id}-hint`}>{props.hint}</p> : null}
      <input
        id={props.id}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.value}
        autocomplete={props.autocomplete}
        required={props.required}
        maxlength={props.maxlength}
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={described || undefined}
      />
      <FieldErrorText id={`${props.id}-error`} message={props.error} />
    </>
  );
}

/** The field a refused path belongs to, for the summary's links. */
function fieldId(form: SettingsFormState['form'], path: string): string {
  if (form === 'token' && path === 'name') return 'token_name';
  if (form === 'sync') return path.startsWith('tables_') ? `mode_${path.slice('tables_'.length)}_explicit` : 'sync-title';
  return path;
}

/** What was refused, at the top of the page, each linked to its field (the form may be far down). */
function ErrorSummary({ state }: { state: SettingsFormState }) {
  return (
    <div class="flash error" role="alert" data-testid="error-summary">
      <p>
        <strong>Not saved.</strong> Please correct:
      </p>
      <ul>
        {state.errors.map((e) => (
          <li>
            <a href={`#${fieldId(state.form, e.path)}`}>{e.message}</a>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** `/settings`: profile, password, personal access tokens, what `da sync` fetches, Telegram. */
export function SettingsPage({ user, tokens, sync, telegram, channels, eventLabels = {}, expiryChoices, state, now, passwords = true, csrf }: SettingsPageProps) {
  const err = (form: SettingsFormState['form'], path: string) =>
    state?.form === form ? state.errors.find((e) => e.path === path)?.message : undefined;
  const posted = (form: SettingsFormState['form'], name: string) => {
    const v = state?.form === form ? state.values[name] : undefined;
    return typeof v === 'string' ? v : undefined;
  };
  const active = tokens.filter((t) => !t.revoked_at && !(t.expires_at && Date.parse(t.expires_at) <= now));
  return (
    <main>
      <h1>Settings</h1>
      {state?.errors.length ? <ErrorSummary state={state} /> : null}

      <section aria-labelledby="profile-title">
        <h2 id="profile-title">Profile</h2>
        <p>
          Signed in as <strong>{user.email}</strong> ({user.role}).
        </p>
        <form method="post" action="/settings/profile" class="stacked short" data-testid="profile-form">
          <CsrfField token={csrf} />
          <Field id="name" name="name" label="Name" value={posted('profile', 'name') ?? user.name ?? ''} autocomplete="name" maxlength={200} error={err('profile', 'name')} />
          <button type="submit">Save name</button>
        </form>
      </section>

      {passwords ? (
        <section aria-labelledby="password-title">
          <h2 id="password-title">Password</h2>
          <form method="post" action="/settings/password" class="stacked short" data-testid="password-form">
            <CsrfField token={csrf} />
            <input type="text" name="username" value={user.email} autocomplete="username" hidden />
            <Field id="current_password" name="current_password" label="Current password" type="password" autocomplete="current-password" required error={err('password', 'current_password')} />
            <Field
              id="new_password"
              name="new_password"
              label="New password"
              type="password"
              autocomplete="new-password"
              required
              hint="At least 8 characters."
              error={err('password', 'new_password')}
            />
            <Field id="confirm_password" name="confirm_password" label="New password again" type="password" autocomplete="new-password" required error={err('password', 'confirm_password')} />
            <button type="submit">Change password</button>
          </form>
          <p class="note">Changing it signs you out everywhere else (other browsers and sign-ins with the old password). Personal access tokens keep working: revoke them below.</p>
        </section>
      ) : null}

      <section aria-labelledby="tokens-title">
        <h2 id="tokens-title">Personal access tokens</h2>
        <p class="note">
          For <code>da login --token</code>, scripts and agents: send one as <code>Authorization: Bearer &lt;token&gt;</code>. A token acts as you; it is shown
          once, when it is made.
        </p>
        <form method="post" action="/settings/tokens" class="stacked short" data-testid="token-form">
          <CsrfField token={csrf} />
          <Field id="token_name" name="name" label="Token name" value={posted('token', 'name') ?? ''} required maxlength={100} hint="What it is for, e.g. laptop or nightly report." error={err('token', 'name')} />
          <label for="expires_in_days">Expires</label>
          <select id="expires_in_days" name="expires_in_days">
            {expiryChoices.map(([v, label]) => (
              <option value={v} selected={v === (posted('token', 'expires_in_days') ?? '90')}>
                {label}
              </option>
            ))}
          </select>
          <FieldErrorText id="expires_in_days-error" message={err('token', 'expires_in_days')} />
          <button type="submit">Create token</button>
        </form>
        {tokens.length === 0 ? (
          <p class="note">You have no tokens.</p>
        ) : (
          <DataTable
              testId="tokens"
              caption={<>{active.length} active of {tokens.length}</>}
              showCaption
              stack
              columns={['Name', 'Starts with', 'Created', 'Last used', 'Status', { label: <span class="muted">Action</span> }]}
            >
            {tokens.map((t) => (
              <tr data-token={t.id}>
                <th scope="row">{t.name}</th>
                <td data-label="Starts with">
                  <code>{t.prefix}…</code>
                </td>
                <td data-label="Created">{formatTime(t.created_at)}</td>
                <td data-testid="last-used" data-label="Last used">{t.last_used_at ? formatTime(t.last_used_at) : 'never'}</td>
                <td data-label="Status">{tokenStatus(t, now)}</td>
                <td>
                  {active.includes(t) ? (
                    <form method="post" action={`/settings/tokens/${encodeURIComponent(t.id)}/revoke`} class="inline">
                      <CsrfField token={csrf} />
                      <button type="submit" aria-label={`Revoke token ${t.name}`}>
                        Revoke
                      </button>
                    </form>
                  ) : null}
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </section>

      {sync ? <SyncSettings datasets={sync} state={state} csrf={csrf} /> : null}

      <TelegramSettings telegram={telegram} error={err('telegram', 'code')} code={posted('telegram', 'code')} csrf={csrf} />

      {channels ? <NotificationSettings channels={channels} labels={eventLabels} telegram={telegram.bot_enabled === true} csrf={csrf} /> : null}
    </main>
  );
}

function SyncSettings({ datasets, state, csrf }: { datasets: SyncDataset[]; state?: SettingsFormState; csrf: string }) {
  const posted = state?.form === 'sync' ? state.values : undefined;
  const err = (path: string) => (state?.form === 'sync' ? state.errors.find((e) => e.path === path)?.message : undefined);
  return (
    <section aria-labelledby="sync-title">
      <h2 id="sync-title">What da sync fetches</h2>
      <p class="note">
        <code>da sync</code> fetches every table you may read unless you choose here. A table you stop fetching is removed from your workspace at the next
        sync.
      </p>
      {datasets.length === 0 ? (
        <p class="note">You may not read any dataset yet.</p>
      ) : (
        <form method="post" action="/settings/sync" data-testid="sync-form">
          <CsrfField token={csrf} />
          {datasets.map((d) => {
            const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
            const enabled = posted ? posted[`sync_${d.name}`] === 'on' : d.enabled;
            const mode = posted ? (posted[`mode_${d.name}`] === 'explicit' ? 'explicit' : 'all') : d.mode;
            const chosen = new Set(posted ? list(posted[`tables_${d.name}[]`]) : d.chosen);
            const tablesError = err(`tables_${d.name}`);
            return (
              <fieldset data-dataset={d.name}>
                <legend>
                  <input type="hidden" name="datasets[]" value={d.name} />
                  <input type="checkbox" id={`sync_${d.name}`} name={`sync_${d.name}`} checked={enabled} />{' '}
                  <label for={`sync_${d.name}`}>
                    Fetch <code>{d.name}</code> ({d.tables.length} {d.tables.length === 1 ? 'table' : 'tables'})
                  </label>
                </legend>
                {d.description ? <p class="note">{d.description}</p> : null}
                <p>
                  <input type="radio" id={`mode_${d.name}_all`} name={`mode_${d.name}`} value="all" checked={mode === 'all'} />{' '}
                  <label for={`mode_${d.name}_all`}>All its tables, also new ones</label>
                  <br />
                  <input type="radio" id={`mode_${d.name}_explicit`} name={`mode_${d.name}`} value="explicit" checked={mode === 'explicit'} />{' '}
                  <label for={`mode_${d.name}_explicit`}>Only these:</label>
                </p>
                <FieldErrorText id={`tables_${d.name}-error`} message={tablesError} />
                <details open={mode === 'explicit' || d.tables.length <= 12}>
                  <summary>Tables of {d.name}</summary>
                  <ul class="checks">
                    {d.tables.map((t) => (
                      <li>
                        <input type="checkbox" id={`t_${d.name}_${t}`} name={`tables_${d.name}[]`} value={t} checked={chosen.has(t)} />{' '}
                        <label for={`t_${d.name}_${t}`}>{t}</label>
                      </li>
                    ))}
                  </ul>
                </details>
              </fieldset>
            );
          })}
          <button type="submit">Save sync settings</button>
        </form>
      )}
    </section>
  );
}

/** Linking a Telegram chat: the state, the code form (or unlink), and how to get a code. */
function TelegramSettings({ telegram, error, code, csrf }: { telegram: SettingsPageProps['telegram']; error?: string; code?: string; csrf: string }) {
  const bot = telegram.bot_username ? `@${telegram.bot_username}` : 'the bot';
  return (
    <section aria-labelledby="telegram-title">
      <h2 id="telegram-title">Telegram</h2>
      {!telegram.bot_enabled && !telegram.linked ? (
        <p data-testid="telegram">Not linked. Telegram is not set up on this server; notifications arrive on the web socket only.</p>
      ) : telegram.linked ? (
        <>
          <p data-testid="telegram">Linked{telegram.linked_at ? ` since ${formatTime(telegram.linked_at)}` : ''}. Your notifications are sent to that chat.</p>
          <form method="post" action="/settings/telegram/unlink" class="inline" data-testid="telegram-unlink">
            <CsrfField token={csrf} />
            <button type="submit">Unlink Telegram</button>
          </form>
        </>
      ) : (
        <>
          <p data-testid="telegram">
            Not linked. Send <code>/start</code> to {bot} in Telegram; it answers with a 6-digit code, good once for 10 minutes. Enter it here (or run{' '}
            <code>da telegram link CODE</code>).
          </p>
          <form method="post" action="/settings/telegram/link" class="stacked short" data-testid="telegram-form">
            <CsrfField token={csrf} />
            <Field id="code" name="code" label="Code from the bot" value={code ?? ''} autocomplete="one-time-code" required maxlength={6} error={error} />
            <button type="submit">Link Telegram</button>
          </form>
        </>
      )}
    </section>
  );
}

/** Per kind of notification, a checkbox per channel; unchecked is off. */
function NotificationSettings({ channels, labels, telegram, csrf }: { channels: EventChannels[]; labels: Record<string, string>; telegram: boolean; csrf: string }) {
  const slug = (event: string) => event.replace('.', '_');
  return (
    <section aria-labelledby="notifications-title">
      <h2 id="notifications-title">Notifications</h2>
      <p class="note">
        Where you hear of what happens: the web socket (<code>/ws/notifications</code>, for pages and tools that listen){telegram ? ' and your linked Telegram chat' : ''}.
      </p>
      <form method="post" action="/settings/notifications" data-testid="notifications-form">
        <CsrfField token={csrf} />
        <table class="stack">
          <caption class="visually-hidden">Channels per kind of notification</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Web socket</th>
              {telegram ? <th scope="col">Telegram</th> : null}
            </tr>
          </thead>
          <tbody>
            {channels.map((c) => (
              <tr data-event={c.event}>
                <th scope="row">
                  <input type="hidden" name="events[]" value={c.event} />
                  {labels[c.event] ?? c.event}
                </th>
                <td data-label="Web socket">
                  <input type="checkbox" id={`ws_${slug(c.event)}`} name={`websocket_${c.event}`} checked={c.websocket} />{' '}
                  <label for={`ws_${slug(c.event)}`} class="visually-hidden">{`Web socket: ${labels[c.event] ?? c.event}`}</label>
                </td>
                {telegram ? (
                  <td data-label="Telegram">
                    <input type="checkbox" id={`tg_${slug(c.event)}`} name={`telegram_${c.event}`} checked={c.telegram} />{' '}
                    <label for={`tg_${slug(c.event)}`} class="visually-hidden">{`Telegram: ${labels[c.event] ?? c.event}`}</label>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
        <button type="submit">Save notification settings</button>
      </form>
    </section>
  );
}
