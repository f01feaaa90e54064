import type { Child } from 'hono/jsx';

/** The document around every page: head (title, styles) and body. */
export function Page({ children, title, css }: { children?: Child; title: string; css: string }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{title} · da</title>
        <style>{`body{font-family:system-ui,sans-serif;padding:0 1rem;color:#222}.note{color:#555;font-size:.9rem}.error{color:#b00020}\n${css}`}</style>
      </head>
      <body>{children}</body>
    </html>
  );
}

const APP_CSS = `body{max-width:60rem;margin:2rem auto}
header{display:flex;justify-content:space-between;align-items:center;border-bottom:1px solid #ddd;padding-bottom:.5rem}
header form{display:inline}pre{background:#f4f4f4;padding:.8rem;overflow-x:auto}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #eee}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}`;

/** The frame of the signed-in pages: header with the user and a sign-out button. */
export function AppLayout({ children, title, user }: { children?: Child; title?: string; user?: { email: string; role: string } }) {
  return (
    <Page title={title ?? 'da'} css={APP_CSS}>
      <header>
        <strong>da</strong>
        {user ? (
          <span>
            <span data-testid="whoami">{user.email}</span> ({user.role}){' '}
            <form method="post" action="/logout">
              <button type="submit">Sign out</button>
            </form>
          </span>
        ) : null}
      </header>
      {children}
    </Page>
  );
}
