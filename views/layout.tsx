import type { Child } from 'hono/jsx';

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
/* admin pages (views/admin) */
.visually-hidden{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
main.admin :focus-visible{outline:3px solid #1a5fb4;outline-offset:2px}
.admin-nav{display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;margin:.8rem 0;padding-bottom:.5rem;border-bottom:1px solid #eee}
.admin-nav a[aria-current=page]{font-weight:bold;text-decoration:none;color:#222}
.flash{border:1px solid #8fbf8f;background:#f0f8f0;padding:.2rem 1rem;margin:1rem 0}.flash.error{border-color:#d99;background:#fdf0f0}
.flash input.secret{width:100%;box-sizing:border-box;font-family:monospace;padding:.4rem;margin-top:.3rem}
.field-error{display:block;color:#b00020;font-size:.9rem;margin-top:.2rem}
main.admin [aria-invalid=true]{border:2px solid #b00020}
.scroll{overflow-x:auto;max-width:100%;position:relative}.scroll table{min-width:40rem}
main.admin th[scope=row]{font-weight:normal}main.admin td,main.admin th{vertical-align:top}
.actions{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center}
form.inline{display:inline-flex;flex-wrap:wrap;gap:.3rem;align-items:center;margin:0}
main.admin button{padding:.3rem .7rem;cursor:pointer}main.admin button.danger{color:#b00020}
tr.inactive th,tr.inactive td:not(:last-child){color:#777}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dl.facts dd{margin:0}
.crumbs{margin:.5rem 0 0}main.admin time{white-space:nowrap}main.admin h1{overflow-wrap:anywhere}
main.admin form.stacked{max-width:36rem}form.stacked fieldset{margin-top:.8rem;border:1px solid #ddd}form.stacked label.choice{margin:.3rem 0}
form.stacked label.choice input{width:auto;margin-right:.4rem}form.stacked select{padding:.4rem}
.badge{display:inline-block;padding:0 .4rem;border-radius:.3rem;background:#eee;font-size:.85rem}
.badge.ok{background:#e3f3e3}.badge.error{background:#fbe3e3;color:#b00020}.badge.running{background:#fff3cd}
form.filters{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.5rem 1rem;align-items:start}form.filters .actions{align-self:end}
form.filters label{display:block;font-size:.9rem}form.filters input,form.filters select{width:100%;box-sizing:border-box;padding:.3rem}
.pager{display:flex;gap:1rem;margin:1rem 0}
progress{width:100%;max-width:30rem}`;

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
}

/** The one document frame of every page: head (title, stylesheet), header with the user, content. */
export function Layout({ children, title, narrow, user, csrf }: LayoutProps) {
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
            <strong>da</strong>
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
        {children}
      </body>
    </html>
  );
}
