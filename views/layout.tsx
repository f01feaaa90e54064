import type { Child } from 'hono/jsx';
import type { Flash } from '../src/web/flash.ts';

/** Name of the hidden form field that carries the CSRF token (checked by src/web/csrf.ts). */
export const CSRF_FIELD = '_csrf';

/** The hidden CSRF field every form that changes something carries. */
export function CsrfField({ token }: { token: string }) {
  return <input type="hidden" name={CSRF_FIELD} value={token} />;
}

// The one stylesheet of every page. Its sha256 is allowed by the Content-Security-Policy
// (src/web/page-styles.tsx); no other inline style applies. No `>` in it: it would be escaped.
const CSS = `body{font-family:system-ui,sans-serif;padding:0 1rem;color:#222;max-width:60rem;margin:2rem auto}
body.narrow{max-width:28rem;margin:4rem auto}
.note{color:#555;font-size:.9rem}.error{color:#b00020}
header{display:flex;justify-content:space-between;align-items:center;border-bottom:1px solid #ddd;padding-bottom:.5rem}
header form{display:inline}pre{background:#f4f4f4;padding:.8rem;overflow-x:auto}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #eee}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
form.stacked label{display:block;margin:.8rem 0 .2rem}form.stacked input{width:100%;padding:.5rem;box-sizing:border-box}
form.stacked button{margin-top:1rem;padding:.6rem 1.2rem}
/* pages: navigation, dashboard, catalog, settings */
a{color:#0b57d0}:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
header{flex-wrap:wrap;gap:.5rem 1rem}header .brand{font-weight:700;text-decoration:none;color:#222;font-size:1.2rem}
nav.main{flex:1}nav.main ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.2rem .9rem;align-items:center}
nav.main a{text-decoration:none;padding:.2rem 0}nav.main a:hover{text-decoration:underline}
nav.main a[aria-current=page]{color:#222;font-weight:600;border-bottom:2px solid #0b57d0}
details.menu{position:relative}details.menu summary{cursor:pointer;color:#0b57d0}
details.menu ul{position:absolute;z-index:2;left:0;background:#fff;border:1px solid #ccc;padding:.4rem .8rem;display:block;min-width:9rem;box-shadow:0 2px 6px #0002}
details.menu li{padding:.2rem 0}
.flash{border:1px solid #2e7d32;background:#edf7ee;padding:.6rem .9rem;margin:1rem 0}.flash.error{border-color:#b00020;background:#fdecee}
.flash p{margin:.3rem 0}.flash ul{margin:.3rem 0;padding-left:1.2rem}
.flash textarea.secret{display:block;width:100%;box-sizing:border-box;margin:.3rem 0;background:#fff;font-family:ui-monospace,monospace;resize:vertical}
main h1{margin-top:1.2rem}section{margin:1.6rem 0}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;padding:0;list-style:none}.cards li{border:1px solid #ddd;padding:.6rem .9rem;min-width:8rem}
.cards strong{display:block;font-size:1.5rem}
.badge{display:inline-block;padding:0 .4rem;border-radius:.6rem;font-size:.8rem;border:1px solid #888;white-space:nowrap}
.badge.fresh{border-color:#2e7d32;color:#1b5e20}.badge.stale{border-color:#9a5b00;color:#7a4700;background:#fff6e5}
.badge.failed{border-color:#b00020;color:#b00020;background:#fdecee}.badge.never{color:#555}.badge.remote{border-color:#1d4ed8;color:#1d4ed8;background:#eef2ff}
.scroll{overflow-x:auto}table caption{text-align:left;font-weight:600;padding:.3rem 0}
form.filters{display:flex;flex-wrap:wrap;gap:.6rem 1rem;align-items:flex-end;margin:1rem 0}
form.filters label{display:flex;flex-direction:column;font-size:.9rem;gap:.2rem}
input,select,textarea,button{font:inherit}input,select,textarea{padding:.35rem;border:1px solid #767676}
button{padding:.35rem .9rem;cursor:pointer}
.columns .col{border-top:1px solid #ddd;padding:.8rem 0;display:flex;flex-wrap:wrap;gap:.5rem 1.5rem}
.columns .col h3{margin:0;font-size:1rem;flex-basis:100%}.columns dl{margin:0;display:grid;grid-template-columns:auto auto;gap:0 .8rem;font-size:.9rem}
.columns dt{color:#555}.columns dd{margin:0;font-variant-numeric:tabular-nums}
svg.chart{max-width:100%;height:auto}svg.chart rect.bar{fill:#3b6fd8}svg.chart rect.bar:hover{fill:#1a3f8f}svg.chart text{font-size:11px;fill:#333}
textarea.sql{width:100%;box-sizing:border-box;font-family:ui-monospace,monospace;min-height:6rem}
.field-error{display:block;color:#b00020;font-size:.9rem;margin:.2rem 0}
form.stacked select{width:100%;padding:.5rem}fieldset{border:1px solid #ddd;margin:.8rem 0;padding:.5rem .9rem}
.inline{display:inline}.muted{color:#555}
form.stacked input[type=number]{width:10rem;display:block}form.stacked.short{max-width:32rem}form.filters a{padding-bottom:.45rem}#result{margin-top:1rem}
ul.checks{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3rem 1.2rem}
.visually-hidden{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);clip-path:inset(50%);white-space:nowrap;border:0}
@media (max-width:40rem){table.stack thead{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%)}
table.stack tr{display:block;border-bottom:1px solid #ddd;padding:.4rem 0}table.stack th,table.stack td{display:block;border:0;padding:.1rem .2rem;text-align:left}
table.stack td[data-label]::before{content:attr(data-label);color:#555;margin-right:.5rem}table.stack td:empty{display:none}}
/* admin pages (views/admin): within main.admin where a rule of the pages above has the same selector */
main.admin :focus-visible{outline:3px solid #1a5fb4;outline-offset:2px}
.admin-nav{display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;margin:.8rem 0;padding-bottom:.5rem;border-bottom:1px solid #eee}
.admin-nav a[aria-current=page]{font-weight:bold;text-decoration:none;color:#222}
main.admin [aria-invalid=true]{border:2px solid #b00020}
.scroll{max-width:100%;position:relative}main.admin .scroll table{min-width:40rem}
main.admin th[scope=row]{font-weight:normal}main.admin td,main.admin th{vertical-align:top}
.actions{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center}
main.admin form.inline{display:inline-flex;flex-wrap:wrap;gap:.3rem;align-items:center;margin:0}
main.admin button{padding:.3rem .7rem;cursor:pointer}main.admin button.danger{color:#b00020}
tr.inactive th,tr.inactive td:not(:last-child){color:#777}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dl.facts dd{margin:0}
.crumbs{margin:.5rem 0 0}main.admin time{white-space:nowrap}main.admin h1{overflow-wrap:anywhere}
main.admin form.stacked{max-width:36rem}form.stacked fieldset{margin-top:.8rem;border:1px solid #ddd}form.stacked label.choice{margin:.3rem 0}
form.stacked label.choice input{width:auto;margin-right:.4rem}main.admin form.stacked select{padding:.4rem}
main.admin .badge{display:inline-block;padding:0 .4rem;border:0;border-radius:.3rem;background:#eee;color:inherit;font-size:.85rem}
main.admin .badge.ok{background:#e3f3e3}main.admin .badge.error{background:#fbe3e3;color:#b00020}main.admin .badge.running{background:#fff3cd}
main.admin form.filters{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.5rem 1rem;align-items:start}main.admin form.filters .actions{align-self:end}
main.admin form.filters label{display:block;font-size:.9rem}main.admin form.filters input,main.admin form.filters select{width:100%;box-sizing:border-box;padding:.3rem}
.pager{display:flex;gap:1rem;margin:1rem 0}
progress{width:100%;max-width:30rem}
/* sign-in pages (views/login.tsx, views/auth): one section per sign-in method, a notice for mail in the log (.visually-hidden above) */
.divider{text-align:center;border-bottom:1px solid #ddd;line-height:0;margin:1.8rem 0 1.4rem}
.divider span{background:#fff;padding:0 .6rem;color:#555}
main.sign-in button,a.button{display:block;width:100%;box-sizing:border-box;font:inherit;text-align:center;padding:.6rem 1.2rem;border:1px solid #767676;border-radius:3px;background:#efefef;color:#222;text-decoration:none;cursor:pointer}
main.sign-in button:hover,a.button:hover,a.button:focus{background:#e2e2e2}
.notice{background:#fff8e1;border-left:4px solid #e0a800;padding:.6rem .8rem}`;

export interface LayoutProps {
  children?: Child;
  /** Shown as `<title> · da`. */
  title?: string;
  /** A narrow column without the header: the sign-in pages. */
  narrow?: boolean;
  /** The signed-in user, shown in the header with a sign-out button. */
  user?: { email: string; role: string };
  /** CSRF token of the sign-out form (with `user`). */
  csrf?: string;
  /** The path of this page: its link in the navigation is marked current. */
  path?: string;
  /** The one-time message of the form post before this page. */
  flash?: Flash;
}

/** The links of the navigation, per role: everyone signed in, and admins also the Admin menu. */
const NAV = [
  { href: '/', label: 'Dashboard' },
  { href: '/catalog', label: 'Catalog' },
  { href: '/memory', label: 'Memory' },
  { href: '/scripts', label: 'Scripts', analyst: true },
  { href: '/settings', label: 'Settings' },
];
/** The administration's areas: the Admin menu here, and the links atop every admin page (views/admin/common.tsx). */
export const ADMIN_NAV = [
  { href: '/admin/users', label: 'Users' },
  { href: '/admin/tables', label: 'Tables' },
  { href: '/admin/sync', label: 'Sync' },
  { href: '/admin/access', label: 'Access requests' },
  { href: '/admin/audit', label: 'Audit log' },
  { href: '/admin/jobs', label: 'Jobs' },
];
const ADMIN_ROLES = new Set(['admin', 'km_admin']);

/** True when `href` is the section the page at `path` belongs to. */
function isCurrent(href: string, path: string | undefined): boolean {
  if (!path) return false;
  return href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`);
}

function Nav({ role, path }: { role: string; path?: string }) {
  const admin = ADMIN_ROLES.has(role);
  return (
    <nav class="main" aria-label="Main">
      <ul>
        {NAV.filter((l) => !('analyst' in l) || role !== 'viewer').map((l) => (
          <li>
            <a href={l.href} aria-current={isCurrent(l.href, path) ? 'page' : undefined}>{l.label}</a>
          </li>
        ))}
        {admin ? (
          <li>
            <details class="menu" data-testid="admin-menu">
              <summary>Admin</summary>
              <ul>
                {ADMIN_NAV.map((l) => (
                  <li>
                    <a href={l.href} aria-current={isCurrent(l.href, path) ? 'page' : undefined}>{l.label}</a>
                  </li>
                ))}
              </ul>
            </details>
          </li>
        ) : null}
      </ul>
    </nav>
  );
}

/**
 * The message a form post left (the layout shows it on the page after the redirect; a page
 * may show one of its own the same way): what happened, further lines, and a secret to copy
 * now when there is one (a read-only field, selectable, labelled).
 */
export function FlashMessage({ flash, testId = 'flash' }: { flash: Flash; testId?: string }) {
  const secretId = `${testId}-secret`;
  return (
    <div class={flash.kind === 'error' ? 'flash error' : 'flash'} role={flash.kind === 'error' ? 'alert' : 'status'} data-testid={testId}>
      <p>{flash.message}</p>
      {flash.details?.length ? (
        <ul>
          {flash.details.map((d) => (
            <li>{d}</li>
          ))}
        </ul>
      ) : null}
      {flash.secret ? (
        <>
          <p>
            <label for={secretId}>{flash.secret.label}</label> (shown only now; copy it before you leave this page):
          </p>
          <textarea id={secretId} class="secret" readonly rows={2} spellcheck={false} data-testid={secretId}>{flash.secret.value}</textarea>
        </>
      ) : null}
    </div>
  );
}

/** The one document frame of every page: head (title, stylesheet), header with the user, content. */
export function Layout({ children, title, narrow, user, csrf, path, flash }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{title ? `${title} · da` : 'da'}</title>
        <style>{CSS}</style>
      </head>
      <body class={narrow ? 'narrow' : undefined}>
        {narrow ? null : (
          <header>
            <a class="brand" href="/">da</a>
            {user ? <Nav role={user.role} path={path} /> : null}
            {user ? (
              <span>
                <span data-testid="whoami">{user.email}</span> ({user.role}){' '}
                <form method="post" action="/logout">
                  {csrf ? <CsrfField token={csrf} /> : null}
                  <button type="submit">Sign out</button>
                </form>
              </span>
            ) : null}
          </header>
        )}
        {flash ? <FlashMessage flash={flash} /> : null}
        {children}
      </body>
    </html>
  );
}
