import { CliError, EXIT, errorCode, oneLine } from './errors.ts';
import { VERSION } from '../src/version.ts';

/** Options of one API call. */
export interface RequestOptions {
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
  query?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal;
  /** Statuses that are not errors for this call (e.g. 304, 404 when probing). */
  accept?: number[];
}

/** Turns a problem+json (or any error) response into one line: `403 Forbidden: this needs …`. */
export async function problemMessage(res: Response): Promise<{ message: string; problem?: Record<string, unknown> }> {
  const text = await res.text().catch(() => '');
  let problem: Record<string, unknown> | undefined;
  try {
    problem = JSON.parse(text);
  } catch {
    problem = undefined;
  }
  const detail = problem && (problem.detail ?? problem.title ?? problem.message);
  let msg = typeof detail === 'string' ? detail : text.slice(0, 200) || res.statusText;
  const errors = problem?.errors;
  if (Array.isArray(errors) && errors.length) {
    msg += ': ' + errors.map((e: { path?: string; message?: string }) => [e.path, e.message].filter(Boolean).join(' ')).join('; ');
  }
  return { message: oneLine(`${res.status} ${msg}`), problem };
}

/** What went wrong on the way to the server, in our words (the runtime's text is in `cause`). */
export function networkProblem(err: unknown): string {
  switch (errorCode(err)) {
    case 'ECONNREFUSED':
    case 'ConnectionRefused':
      return 'the connection was refused (is the server running?)';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ConnectionClosed':
      return 'the connection was dropped';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name does not resolve (check the URL and your network)';
    case 'ETIMEDOUT':
      return 'the connection timed out';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to the host (are you offline?)';
    default:
      if (err instanceof Error && (err.name === 'TimeoutError' || /timed out/i.test(err.message))) return 'the connection timed out';
      return oneLine((err as Error)?.message ?? String(err)).replace(/\. For more information, pass `verbose: true`.*$/, '');
  }
}

/**
 * The HTTP client every command uses: base URL, bearer token, one-line errors.
 * A network failure or an error status throws CliError (exit 1); a 401 says how to sign in.
 */
export function createClient(server: string | undefined, token: string | undefined) {
  const need = () => {
    if (!server) throw new CliError('no server configured: run `da login --server URL` or set DA_SERVER', EXIT.failure);
    return server;
  };

  async function request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const base = need();
    const url = new URL(path.startsWith('http') ? path : base + path);
    // Paths come from server answers too (manifest URLs): the bearer token goes to this server only.
    if (url.origin !== new URL(base).origin || url.username || url.password) {
      throw new CliError(`refused: ${url.origin} is another origin than ${new URL(base).origin}`, EXIT.failure, { reason: 'foreign_origin' });
    }
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { 'user-agent': `da/${VERSION}`, ...opts.headers };
    if (token) headers.authorization = `Bearer ${token}`;
    let body = opts.body;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    }
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body, signal: opts.signal, redirect: 'manual' });
    } catch (err) {
      if ((err as Error).name === 'AbortError' || opts.signal?.aborted) throw opts.signal?.reason ?? err;
      throw new CliError(`cannot reach ${base}: ${networkProblem(err)}; check the URL (--server, $DA_SERVER or \`da login --server URL\`) and your network, or run \`da diagnose\``, EXIT.failure, { reason: 'unreachable', code: errorCode(err) ?? null }, { cause: err });
    }
    if (res.ok || opts.accept?.includes(res.status)) return res;
    const { message, problem } = await problemMessage(res);
    const hint = res.status === 401 ? (token ? ' (run `da login` again)' : ' (run `da login` first)') : '';
    throw new CliError(`${message}${hint}`, EXIT.failure, { status: res.status, problem });
  }

  return {
    server,
    token,
    request,
    get: <T>(path: string, opts?: RequestOptions) => createClientJson<T>(request, 'GET', path, opts),
    post: <T>(path: string, json?: unknown, opts?: RequestOptions) => createClientJson<T>(request, 'POST', path, { ...opts, json }),
    put: <T>(path: string, json?: unknown, opts?: RequestOptions) => createClientJson<T>(request, 'PUT', path, { ...opts, json }),
    patch: <T>(path: string, json?: unknown, opts?: RequestOptions) => createClientJson<T>(request, 'PATCH', path, { ...opts, json }),
    delete: <T>(path: string, opts?: RequestOptions) => createClientJson<T>(request, 'DELETE', path, opts),
  };
}

async function createClientJson<T>(
  request: (m: string, p: string, o?: RequestOptions) => Promise<Response>,
  method: string,
  path: string,
  opts?: RequestOptions,
): Promise<T> {
  const res = await request(method, path, opts);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export type Client = ReturnType<typeof createClient>;
