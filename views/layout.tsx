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
/* sign-in pages (web-auth): one section per sign-in method, a notice for mail in the log */
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
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
