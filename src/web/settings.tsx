import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppDeps, AppEnv, AuthUser } from '../context.ts';
import type { Services } from '../boot.ts';
import { hasRole } from '../auth/roles.ts';
import {
  changePassword,
  createPersonalAccessToken,
  MIN_PASSWORD_LENGTH,
  revokePersonalAccessToken,
  updateOwnProfile,
} from '../auth/service.ts';
import { startWebSession } from '../auth/web-session.ts';
import { ValidationError } from '../errors.ts';
import { visibleTables } from '../sync/catalog.ts';
import { saveSyncSettings, type SyncSettingInput } from '../sync/settings.ts';
import { SettingsPage, type SettingsFormState, type SyncDataset } from '../../views/settings/settings.tsx';
import { definePage, type InvalidArgs } from './router.ts';
import { LinkCodeSchema } from '../api/telegram.ts';
import { channelChoices, EVENT_LABELS, saveChannelChoices } from '../notify/preferences.ts';
import { NOTIFICATION_EVENTS, type NotificationEvent } from '../repositories/notifications.ts';

const EXPIRY: ReadonlyArray<readonly [string, string]> = [
  ['30', 'in 30 days'],
  ['90', 'in 90 days'],
  ['365', 'in a year'],
  ['', 'never'],
];

type Base = { deps: AppDeps; services: Services; user: AuthUser; csrf: string };

/** What `da sync` may fetch for the user, grouped by dataset, with their settings applied. */
async function syncDatasets({ deps, services, user }: Base): Promise<SyncDataset[]> {
  const [{ tables }, settings] = await Promise.all([
    visibleTables(services.access, services.catalog, user),
    deps.repos.permissions.listSyncSettings(user.id),
  ]);
  const byDataset = new Map<string, string[]>();
  for (const t of tables) {
    const list = byDataset.get(t.dataset);
    if (list) list.push(t.name);
    else byDataset.set(t.dataset, [t.name]);
  }
  const saved = new Map(settings.map((s) => [s.dataset, s]));
  return [...byDataset].sort(([a], [b]) => a.localeCompare(b)).map(([name, names]) => {
    const s = saved.get(name);
    return {
      name,
      description: deps.config.sources[name]?.description ?? null,
      tables: names,
      enabled: s?.enabled ?? true,
      mode: s?.table_mode === 'explicit' ? 'explicit' : 'all',
      chosen: (s?.tables ?? []).map((t) => (t.startsWith(`${name}.`) ? t.slice(name.length + 1) : t)),
    };
  });
}

/** The settings page, with a refused form's errors and values when there are. */
async function renderSettings(c: Context<AppEnv>, base: Base, state?: SettingsFormState) {
  const { deps, user, csrf } = base;
  const [me, tokens, telegram, channels, sync] = await Promise.all([
    deps.repos.users.get(user.id),
    deps.repos.tokens.listPats(user.id),
    base.services.notifications.links.status(user.id),
    channelChoices(deps.repos.notifications, user.id),
    hasRole(user.role, 'analyst') ? syncDatasets(base) : undefined,
  ]);
  return c.render(
    <SettingsPage
      user={{ email: user.email, name: me?.name ?? user.name, role: user.role }}
      tokens={tokens.map(({ user_id: _, ...t }) => t)}
      sync={sync}
      telegram={telegram}
      channels={channels}
      eventLabels={EVENT_LABELS}
      expiryChoices={EXPIRY}
      state={state}
      now={Date.now()}
      passwords={deps.config.auth.password}
      csrf={csrf}
    />,
    { title: 'Settings' },
  );
}

/** A refused form of the settings page: the page again, that form with its errors (422, set by the router). */
const refused = (form: SettingsFormState['form']) => (c: Context<AppEnv>, args: InvalidArgs<'viewer', {}>) =>
  renderSettings(c, args, { form, errors: args.errors, values: args.values });

/** GET /settings. */
export const settingsPage = definePage({
  path: '/settings',
  access: 'viewer',
  get: (c, args) => renderSettings(c, args),
});

/** POST /settings/profile: the name, as PATCH /api/me. */
export const profileAction = definePage({
  path: '/settings/profile',
  access: 'viewer',
  action: 'me.update',
  form: z.object({ name: z.string().max(200, 'Use at most 200 characters.').default('') }),
  async post(c, { deps, user, form, redirect }) {
    await updateOwnProfile(deps, user, { name: form.name });
    return redirect('/settings', { message: 'Your name was saved.' });
  },
  invalid: refused('profile'),
});

/** POST /settings/password: as POST /api/me/password; this browser stays signed in with a new session, every other session ends. */
export const passwordAction = definePage({
  path: '/settings/password',
  access: 'viewer',
  action: 'me.password',
  form: z.object({
    current_password: z.string().min(1, 'Enter your current password.').max(1024),
    new_password: z.string().min(MIN_PASSWORD_LENGTH, `Use at least ${MIN_PASSWORD_LENGTH} characters.`).max(1024),
    confirm_password: z.string().max(1024),
  }),
  async post(c, { deps, user, form, redirect }) {
    if (form.confirm_password !== form.new_password) {
      throw new ValidationError('the new passwords differ', [{ path: 'confirm_password', message: 'The two new passwords differ.' }]);
    }
    const changed = await changePassword(deps, user, form, c.get('clientIp'));
    // This browser goes on in a new web session (the one it had ends with every other).
    await startWebSession(c, deps, changed, { recordLogin: false });
    return redirect('/settings', { message: 'Your password was changed. Every other session has ended; this browser stays signed in.' });
  },
  invalid: refused('password'),
});

/** POST /settings/tokens: a new personal access token (as POST /api/tokens), shown once on the page after the redirect. */
export const createTokenAction = definePage({
  path: '/settings/tokens',
  access: 'viewer',
  action: 'tokens.create',
  form: z.object({
    name: z.string().trim().min(1, 'Give the token a name.').max(100, 'Use at most 100 characters.'),
    expires_in_days: z.enum(['', '30', '90', '365']).default(''),
  }),
  async post(c, { deps, user, form, redirect }) {
    const days = form.expires_in_days ? Number(form.expires_in_days) : undefined;
    const pat = await createPersonalAccessToken(deps, user.id, form.name, days);
    return redirect('/settings', {
      message: `Token "${pat.name}" was created. Use it with da login --token, or send it as Authorization: Bearer <token>.`,
      secret: { label: 'Your new token', value: pat.token },
    });
  },
  invalid: refused('token'),
});

/** POST /settings/tokens/<id>/revoke: as DELETE /api/tokens/{id}; someone else's token is the 404 page. */
export const revokeTokenAction = definePage({
  path: '/settings/tokens/:id/revoke',
  access: 'viewer',
  action: 'tokens.revoke',
  async post(c, { deps, user, redirect }) {
    await revokePersonalAccessToken(deps, user.id, c.req.param('id')!.slice(0, 64));
    return redirect('/settings', { message: 'The token was revoked; it no longer works.' });
  },
});

/** The sync form: `datasets[]` it shows, and per dataset `sync_<d>`, `mode_<d>` and `tables_<d>[]`. */
const SyncForm = z.record(z.string(), z.union([z.string().max(200), z.array(z.string().max(200)).max(10_000)]));

/** POST /settings/sync: which datasets and tables `da sync` fetches (as PUT /api/users/{id}/settings); the manifest honours them. */
export const syncSettingsAction = definePage({
  path: '/settings/sync',
  access: 'analyst',
  action: 'users.settings.put',
  form: SyncForm,
  async post(c, args) {
    const { deps, user, form, redirect } = args;
    const shown = await syncDatasets(args);
    const known = new Map(shown.map((d) => [d.name, d]));
    const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
    const items: SyncSettingInput[] = [];
    const errors: Array<{ path: string; message: string }> = [];
    for (const name of list(form['datasets[]'])) {
      const d = known.get(name);
      if (!d) {
        errors.push({ path: 'datasets', message: `You may not read the dataset ${name}.` });
        continue;
      }
      const enabled = form[`sync_${name}`] === 'on';
      const mode = form[`mode_${name}`] === 'explicit' ? 'explicit' : 'all';
      const tables = list(form[`tables_${name}[]`]).filter((t) => d.tables.includes(t));
      if (enabled && mode === 'explicit' && !tables.length) {
        errors.push({ path: `tables_${name}`, message: `Choose at least one table of ${name}, or fetch all of them.` });
      }
      items.push({ dataset: name, enabled, table_mode: mode, tables: mode === 'explicit' ? tables : null });
    }
    if (errors.length) throw new ValidationError('the sync settings cannot be saved', errors);
    await saveSyncSettings(deps.repos.permissions, user.id, items);
    return redirect('/settings', { message: 'Your sync settings were saved; da sync fetches accordingly from now on.' });
  },
  invalid: (c, args) => renderSettings(c, args as Base, { form: 'sync', errors: args.errors, values: args.values }),
});

/** POST /settings/telegram/link: as POST /api/telegram/link, with the code the bot sent. */
export const telegramLinkAction = definePage({
  path: '/settings/telegram/link',
  access: 'viewer',
  action: 'telegram.link.create',
  form: LinkCodeSchema,
  async post(c, { services, user, form, redirect }) {
    if (!services.notifications.telegram) throw new ValidationError('Telegram is not set up on this server', [{ path: 'code', message: 'Telegram is not set up on this server.' }]);
    await services.notifications.links.link(user.id, user.email, form.code);
    return redirect('/settings', { message: 'Telegram is linked: your notifications go to that chat now.' });
  },
  invalid: refused('telegram'),
});

/** POST /settings/telegram/unlink: as DELETE /api/telegram/link. */
export const telegramUnlinkAction = definePage({
  path: '/settings/telegram/unlink',
  access: 'viewer',
  action: 'telegram.link.delete',
  async post(c, { services, user, redirect }) {
    await services.notifications.links.unlink(user.id);
    return redirect('/settings', { message: 'Telegram is unlinked: no more notifications there.' });
  },
});

/** POST /settings/notifications: as PUT /api/notifications/preferences; an unchecked box turns its channel off. */
export const notificationsAction = definePage({
  path: '/settings/notifications',
  access: 'viewer',
  action: 'notifications.preferences.put',
  form: z.record(z.string(), z.union([z.string().max(200), z.array(z.string().max(200)).max(100)])),
  async post(c, { deps, services, user, form, redirect }) {
    const shown = form['events[]'];
    const events = (Array.isArray(shown) ? shown : shown ? [shown] : []).filter((e): e is NotificationEvent => (NOTIFICATION_EVENTS as readonly string[]).includes(e));
    // Telegram boxes are shown only when the server has a bot: without it, its choices stay as they are.
    const telegram = !!services.notifications.telegram;
    await saveChannelChoices(
      deps.repos.notifications,
      user.id,
      events.map((event) => ({ event, websocket: form[`websocket_${event}`] === 'on', ...(telegram ? { telegram: form[`telegram_${event}`] === 'on' } : {}) })),
    );
    return redirect('/settings', { message: 'Your notification settings were saved.' });
  },
});

/** Every route of the settings page. */
export const SETTINGS_PAGES = [
  settingsPage, profileAction, passwordAction, createTokenAction, revokeTokenAction, syncSettingsAction,
  telegramLinkAction, telegramUnlinkAction, notificationsAction,
];
