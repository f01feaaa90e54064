import { Command, Option, UsageError } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand } from '../base.ts';
import { loginWithPassword, whoIs } from '../auth.ts';
import { browserLogin } from '../browser-login.ts';
import { normaliseServer } from '../config.ts';

async function readStdinLine(stdin: NodeJS.ReadableStream): Promise<string> {
  let data = '';
  for await (const chunk of stdin) {
    data += chunk.toString();
    if (data.includes('\n')) break;
  }
  return data.split('\n')[0]!.replace(/\r$/, '');
}

/** `da login`: stores a token for a server (password, existing token, or browser sign-in). */
export class LoginCommand extends BaseCommand {
  static paths = [['login']];
  static usage = Command.Usage({
    category: 'Auth',
    description: 'Sign in to a da server and store the token',
    details: `
      Three ways to sign in:

      - \`--email E --password P\` (or the password on stdin when \`--password\` is left out);
      - \`--token T\`: a personal access token created in the web settings;
      - neither: the browser flow. \`da\` listens on 127.0.0.1 on a random port, prints the server's sign-in URL on stderr (and opens it when a browser opener exists), and the server sends a fresh personal access token back to that port. Works with every sign-in method the server offers.

      The token is stored in \`$DA_CONFIG_DIR/token.json\` (mode 0600) together with the server URL; later commands use both. \`$DA_TOKEN\` and \`$DA_SERVER\` override them.
    `,
    examples: [
      ['Sign in with a password', '$0 login --server http://localhost:8000 --email analyst@example.com --password secret'],
      ['Sign in with a personal access token', '$0 login --server https://da.example.com --token dapat_xxx'],
      ['Sign in through the browser', '$0 login --server https://da.example.com'],
    ],
  });

  email = Option.String('--email', { description: 'Account email (password sign-in)' });
  password = Option.String('--password', { description: 'Password; read from stdin when --email is given without it' });
  token = Option.String('--token', { description: 'A personal access token to store instead of signing in' });
  noBrowser = Option.Boolean('--no-browser', false, { description: 'Browser flow: only print the URL, do not try to open it' });
  timeout = Option.String('--timeout', '300', {
    description: 'Browser flow: seconds to wait for the sign-in (default 300)',
    validator: t.cascade(t.isNumber(), [t.isPositive()]),
  });

  async run() {
    const raw = this.server ?? this.context.env.DA_SERVER ?? this.store.readConfig().server ?? this.store.readToken()?.server;
    if (!raw) throw new UsageError('no server: pass --server URL (or set DA_SERVER)');
    const server = normaliseServer(raw);
    if (this.token && (this.email || this.password)) throw new UsageError('use either --token or --email/--password, not both');
    if (this.password && !this.email) throw new UsageError('--password needs --email');

    let token: string;
    if (this.token) {
      token = this.token;
    } else if (this.email) {
      const password = this.password ?? (await readStdinLine(this.context.stdin));
      if (!password) throw new UsageError('no password: pass --password or write it on stdin');
      token = (await loginWithPassword(server, this.email, password)).token;
    } else {
      const seconds = this.timeout;
      const result = await browserLogin({
        server,
        timeoutMs: seconds * 1000,
        env: this.context.env,
        open: !this.noBrowser,
        announce: (url) => this.context.stderr.write(`Open this URL in a browser to sign in:\n  ${url}\nWaiting for the sign-in…\n`),
      });
      token = result.token;
    }
    const me = await whoIs(server, token);
    this.store.writeToken({ token, server, email: me.email, role: me.role, kind: token.startsWith('dapat_') ? 'pat' : 'jwt' });
    this.store.writeConfig({ ...this.store.readConfig(), server });
    this.emit({ server, user: me }, () => `logged in to ${server} as ${me.email} (${me.role})`);
  }
}
