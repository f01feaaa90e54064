import { NAME_PATTERN } from './sync/paths.ts';
import { ROLES } from './auth/roles.ts';
import { resolve } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { z } from '@hono/zod-openapi';

/** Thrown when instance.yaml or the environment cannot be turned into a valid config. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Per-table settings of a local source (files carry no keys or watermarks themselves). */
const LocalTableOptionsSchema = z.object({
  primary_key: z.array(z.string().min(1)).min(1).optional(),
  /** Column whose newer values mark changed rows; enables incremental pulls. */
  watermark_column: z.string().min(1).optional(),
  description: z.string().optional(),
}).strict();

const LocalSourceSchema = z.object({
  type: z.literal('local'),
  path: z.string().min(1),
  public: z.boolean().default(false),
  description: z.string().optional(),
  /** Keyed by the normalised table name (file name without extension). */
  tables: z.record(z.string(), LocalTableOptionsSchema).default({}),
  /** Register new files on each sync (false: only an admin registers). */
  auto_register: z.boolean().default(true),
}).strict();

/** `30m`, `12h`, `7d` → milliseconds. */
const DurationSchema = z
  .string()
  .regex(/^\d+\s*[mhd]$/, 'must be a number of minutes, hours or days: 30m, 12h, 7d')
  .transform((v) => Number(v.slice(0, -1).trim()) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[v.slice(-1) as 'm' | 'h' | 'd']);

const KeboolaSourceSchema = z.object({
  type: z.literal('keboola'),
  url: z.string().url(),
  token: z.string().min(1),
  public: z.boolean().default(false),
  description: z.string().optional(),
  /** Only these buckets are listed when set. */
  buckets: z.array(z.string()).optional(),
  poll_interval_ms: z.number().int().positive().default(1000),
  /** Register new tables on each sync (false: only an admin registers; wise for projects with thousands of tables). */
  auto_register: z.boolean().default(true),
  /** Also pull incremental tables in full when the last full pull is older than this (`24h`, `7d`). */
  full_refresh_every: DurationSchema.optional(),
  /** Retries of a 5xx (not 501) or 429 answer, with exponential backoff or the answer's Retry-After. */
  max_retries: z.number().int().min(0).max(20).default(6),
  retry_backoff_ms: z.number().int().positive().default(1000),
  /** How long one Storage API call may take before it counts as failed (and is retried). */
  request_timeout_ms: z.number().int().positive().default(120_000),
  /** S3 endpoint of AWS stacks' sliced files (default: AWS's for the file's region). */
  s3_endpoint: z.string().url().optional(),
  /** Google Cloud Storage endpoint of GCP stacks' files (default https://storage.googleapis.com). */
  gcs_endpoint: z.string().url().optional(),
  /** Blob endpoint of Azure stacks' files (default: the BlobEndpoint of the file's absCredentials). */
  azure_endpoint: z.string().url().optional(),
}).strict();

/** A Jira Cloud site: REST backfill (search with JQL) and signed webhooks at /webhooks/jira/<dataset>. */
const JiraSourceSchema = z.object({
  type: z.literal('jira'),
  /** The site, e.g. https://example.atlassian.net */
  url: z.string().url(),
  /** The account the API token belongs to (basic auth email:token). */
  email: z.string().min(1),
  token: z.string().min(1),
  /** HMAC-SHA256 key of the webhook's X-Hub-Signature; without it the webhook is refused. */
  webhook_secret: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Only issues this JQL finds (e.g. `project in (OPS, WEB)`); default every issue the account can see. */
  jql: z.string().min(1).optional(),
  public: z.boolean().default(false),
  description: z.string().optional(),
  auto_register: z.boolean().default(true),
  /** Issues per search page. */
  page_size: z.number().int().min(1).max(100).default(100),
  /** Retries of a 429 or 5xx (not 501) answer, waiting the answer's Retry-After or an exponential backoff. */
  max_retries: z.number().int().min(0).max(20).default(5),
  retry_backoff_ms: z.number().int().positive().default(1000),
  request_timeout_ms: z.number().int().positive().default(60_000),
}).strict();

/** Per-table settings of a BigQuery source; a table with `query` is offered under its key in addition to the dataset's tables. */
const BigQueryTableOptionsSchema = z.object({
  /** Standard SQL whose result is the table (e.g. a curated extract of a huge table). */
  query: z.string().min(1).optional(),
  /** A TIMESTAMP, DATETIME, DATE or INT64 column whose newer values mark new or changed rows; enables incremental pulls (with a primary key). */
  incremental_column: z.string().min(1).optional(),
  primary_key: z.array(z.string().min(1)).min(1).optional(),
  description: z.string().optional(),
}).strict();

/** A BigQuery dataset (@google-cloud/bigquery): its tables are extracted to Parquet or stay remote. */
const BigQuerySourceSchema = z.object({
  type: z.literal('bigquery'),
  /** The project that runs (and pays for) the query jobs, and holds the dataset. */
  project: z.string().min(1),
  /** The BigQuery dataset whose tables this source offers. */
  dataset: z.string().regex(/^[A-Za-z0-9_]{1,1024}$/, 'must be a BigQuery dataset id (letters, digits, _)'),
  /** A service-account key file (production). */
  credentials_file: z.string().min(1).optional(),
  /** An OAuth2 access token (workload identity, `gcloud auth print-access-token`), e.g. `${BIGQUERY_TOKEN}`. */
  access_token: z.string().min(1).optional(),
  /** `extract`: tables are copied to Parquet; `remote`: registered but queried in BigQuery. */
  mode: z.enum(['extract', 'remote']).default('extract'),
  /** Every query is dry-run first and refused when it would scan more bytes than this. */
  max_bytes_scanned: z.number().int().positive().optional(),
  /** On-demand price per TiB scanned, for the cost estimate in sync history. */
  price_per_tib_usd: z.number().nonnegative().default(6.25),
  /** The REST API root (default Google's); a stand-in or a proxy. */
  api_endpoint: z.string().url().optional(),
  /** Where jobs run (`US`, `EU`, `europe-west3`); default the dataset's. */
  location: z.string().min(1).optional(),
  // Rows per page of query results (a plain comment: the docs generator would give it to Jira's page_size too).
  page_size: z.number().int().min(1).max(100_000).default(10_000),
  tables: z.record(z.string(), BigQueryTableOptionsSchema).default({}),
  public: z.boolean().default(false),
  description: z.string().optional(),
  /** Register new tables on each sync (false for datasets with thousands of tables). */
  auto_register: z.boolean().default(true),
}).strict().superRefine((s, ctx) => {
  if (!!s.credentials_file === !!s.access_token) {
    ctx.addIssue({ code: 'custom', path: ['credentials_file'], message: 'set exactly one of credentials_file (service-account key) and access_token' });
  }
});

/** Google sign-in (OpenID Connect, authorization code with PKCE); the endpoints are Google's unless set. */
const GoogleSignInSchema = z.object({
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
  /** Only verified addresses of these domains may sign in (any domain when unset). */
  allowed_domains: z.array(z.string().min(1).transform((d) => d.toLowerCase().replace(/^@/, ''))).min(1).optional(),
  /** Unknown users are created with this role; unset: only existing users may sign in. */
  auto_create_role: z.enum(ROLES).optional(),
  authorization_endpoint: z.string().url().default('https://accounts.google.com/o/oauth2/v2/auth'),
  token_endpoint: z.string().url().default('https://oauth2.googleapis.com/token'),
  userinfo_endpoint: z.string().url().default('https://openidconnect.googleapis.com/v1/userinfo'),
}).strict();

/** The Telegram bot (grammy): on when configured. `api_root` points it at another Bot API server. */
const TelegramSchema = z.object({
  token: z.string().min(1),
  api_root: z.string().url().default('https://api.telegram.org'),
  /** `polling`: the server asks Telegram for updates; `webhook`: Telegram posts them to `<base_url>/webhooks/telegram`. */
  mode: z.enum(['polling', 'webhook']).default('polling'),
  /** Telegram sends it in `X-Telegram-Bot-Api-Secret-Token`; webhook mode needs it. */
  webhook_secret: z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, 'must be 16-256 characters of A-Z, a-z, 0-9, _ and -').optional(),
}).strict();

/** Outgoing mail (sign-in links, password resets). */
const EmailSchema = z.object({
  /** `smtp://user:pass@host:port` (STARTTLS when the server offers it) or `smtps://…` (TLS from the start). */
  smtp_url: z.string().regex(/^smtps?:\/\/[^/?#]+/, 'must be smtp://user:pass@host:port or smtps://…'),
  /** Sender: `da@example.com` or `da <da@example.com>`. */
  from: z.string().min(3).max(254),
}).strict();

/**
 * The LLM that reads analysts' notes and transcripts for corporate memory (src/memory/llm/).
 * `offline` (the default) is the built-in heuristic extractor and never touches the network.
 */
const AiSchema = z
  .object({
    provider: z.enum(['offline', 'openai', 'anthropic']).default('offline'),
    /** OpenAI-compatible (`…/v1`: OpenAI, a gateway, Ollama) or Anthropic API root; the vendor's when unset. */
    base_url: z.string().url().optional(),
    /** Usually `${OPENAI_API_KEY}` / `${ANTHROPIC_API_KEY}`; Ollama takes any non-empty value. */
    api_key: z.string().min(1).optional(),
    /** Default: gpt-4.1-mini (openai), claude-haiku-4-5 (anthropic). */
    model: z.string().min(1).optional(),
    /** Time limit of one request to the provider, in seconds. */
    timeout_s: z.number().positive().max(600).default(60),
    /** Further attempts after a 429, a 5xx or a timeout, with exponential backoff. */
    max_retries: z.number().int().min(0).max(10).default(2),
    /** First backoff delay in ms (doubled each retry, at most 30 s; a Retry-After header wins when longer). */
    retry_delay_ms: z.number().int().min(0).max(60_000).default(1000),
    /** Longer uploads are cut to this many characters before they are read. */
    max_input_chars: z.number().int().min(1000).default(60_000),
  })
  .strict()
  .superRefine((ai, ctx) => {
    if (ai.provider !== 'offline' && !ai.api_key) {
      ctx.addIssue({ code: 'custom', path: ['api_key'], message: `is needed with provider ${ai.provider} (e.g. api_key: \${${ai.provider === 'openai' ? 'OPENAI' : 'ANTHROPIC'}_API_KEY})` });
    }
  });
export type AiConfig = z.infer<typeof AiSchema>;

export const SourceSchema = z.discriminatedUnion('type', [LocalSourceSchema, KeboolaSourceSchema, JiraSourceSchema, BigQuerySourceSchema]);
export type SourceConfig = z.infer<typeof SourceSchema>;

/** Schema names DuckDB or da already use in the analytics databases and the query sandbox. */
export const RESERVED_DATASETS = new Set(['main', 'state', 'da_state', 'system', 'temp', 'information_schema', 'pg_catalog']);

export const ConfigSchema = z
  .object({
    instance: z
      .object({
        name: z.string().default('da'),
        /** Public base URL, used in links (magic links, CLI download). */
        base_url: z.string().url().optional(),
      })
      .strict()
      .prefault({}),
    server: z
      .object({
        port: z.number().int().min(0).max(65535).default(8000),
        hostname: z.string().default('0.0.0.0'),
        /** Behind a reverse proxy (kamal-proxy): take the client address from X-Forwarded-For. */
        trust_proxy: z.boolean().default(false),
        data_dir: z.string().default('./data'),
        /** Largest accepted request body, in bytes. */
        max_body_bytes: z.number().int().positive().default(64 * 1024 * 1024),
        /** Folder of the `da` builds served at /cli/ (`da`, `da-<os>-<arch>`); default dist/ of the checkout, or beside the running `da`. */
        cli_dir: z.string().optional(),
      })
      .strict()
      .prefault({}),
    auth: z
      .object({
        secret: z.string().min(32).optional(),
        /** Lifetime of access tokens from POST /auth/token, in seconds. */
        token_ttl_seconds: z.number().int().positive().default(12 * 3600),
        /** Lifetime of setup and reset tokens, in seconds. */
        setup_token_ttl_seconds: z.number().int().positive().default(7 * 24 * 3600),
        admin_email: z.string().email().optional(),
        admin_password: z.string().min(8).optional(),
        /** Wrong passwords per window per account and client address (then 429 for that address only)… */
        login_rate_limit: z.number().int().positive().default(10),
        /** …sign-in requests per window per client address (higher: many people may share one office address)… */
        login_ip_rate_limit: z.number().int().positive().default(60),
        /** …and wrong passwords per window per account from all addresses, after which attempts wait a growing delay. */
        login_account_limit: z.number().int().positive().default(30),
        login_rate_window_seconds: z.number().int().positive().default(60),
        /** First delay past login_account_limit, in ms; it doubles with each further attempt… */
        login_backoff_ms: z.number().int().positive().default(1000),
        /** …up to this, in ms. */
        login_backoff_max_ms: z.number().int().positive().default(60_000),
        /** Largest request body accepted by /auth/* and the sign-in form, in bytes (checked before anything reads it). */
        max_body_bytes: z.number().int().positive().default(8 * 1024),
        /** Sign-in with email and password (the form on /login, POST /auth/token, password reset). */
        password: z.boolean().default(true),
        /** Sign-in links by mail; default: on when `email` is configured. */
        magic_link: z.boolean().optional(),
        google: GoogleSignInSchema.optional(),
        /** A web session ends after this many seconds without a request… */
        session_idle_seconds: z.number().int().positive().default(2 * 3600),
        /** …and this many seconds after signing in, whatever happens. */
        session_max_seconds: z.number().int().positive().default(12 * 3600),
        /** Lifetime of a sign-in link, in seconds. */
        magic_link_ttl_seconds: z.number().int().positive().default(15 * 60),
        /** Lifetime of a password reset link sent by mail, in seconds. */
        reset_ttl_seconds: z.number().int().positive().default(3600),
        /** Mails (sign-in links, resets) per window to one address… */
        mail_rate_limit: z.number().int().positive().default(5),
        /** …and requested by one client address. */
        mail_ip_rate_limit: z.number().int().positive().default(20),
        mail_rate_window_seconds: z.number().int().positive().default(15 * 60),
        /** argon2id cost of new password hashes (existing hashes keep theirs). Lower only for tests. */
        password_hash: z
          .object({
            memory_kib: z.number().int().min(64).default(65536),
            time_cost: z.number().int().min(1).default(2),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** Outgoing mail; without it, mails are written to the log (development). */
    email: EmailSchema.optional(),
    uploads: z
      .object({
        /** Most bytes one user may keep in uploads (sessions, artifacts, CLAUDE.local.md together). */
        quota_bytes: z.number().int().positive().default(1024 ** 3),
        /** Most files one user may keep in uploads. */
        quota_files: z.number().int().positive().default(10_000),
      })
      .strict()
      .prefault({}),
    query: z
      .object({
        default_limit: z.number().int().positive().default(1000),
        max_limit: z.number().int().positive().default(100_000),
        timeout_ms: z.number().int().positive().default(30_000),
        /** Bytes of JSON rows one answer may carry; a longer result is cut and marked truncated. */
        max_result_bytes: z.number().int().positive().default(50 * 1024 * 1024),
        /** DuckDB memory limit and threads of each user's sandbox. */
        memory_limit: z.string().default('1GB'),
        threads: z.number().int().positive().default(2),
        /** Worker processes that run user SQL: kept ready while idle, and started at most. */
        min_workers: z.number().int().nonnegative().default(1),
        max_workers: z.number().int().positive().default(8),
        /** Queries one user may have running at once (more get 429). */
        per_user: z.number().int().positive().default(3),
        /** Heap cap of each worker process (RLIMIT_DATA); a query past it ends only its worker. */
        worker_memory_mb: z.number().int().positive().default(2048),
        /** How long a query waits for a free worker before 503. */
        queue_timeout_ms: z.number().int().positive().default(10_000),
      })
      .strict()
      .prefault({}),
    sync: z
      .object({
        /** Cron pattern of the data refresh job; null turns scheduled refresh off. */
        schedule: z.string().nullable().default('*/15 * * * *'),
        /** Tables above this many rows are profiled on a sample. */
        profile_sample_threshold: z.number().int().positive().default(5_000_000),
        /** A table whose last sync is older than this is flagged stale; default twice the longest gap of `schedule` (24 h without one). */
        stale_after_minutes: z.number().int().positive().optional(),
        /** Delta sync: the deltas of a table are folded into a new base once their bytes pass this share of the base. */
        delta_compact_ratio: z.number().positive().max(10).default(0.5),
      })
      .strict()
      .prefault({}),
    sources: z
      .record(z.string(), SourceSchema)
      .default({})
      .superRefine((sources, ctx) => {
        for (const name of Object.keys(sources)) {
          if (!NAME_PATTERN.test(name)) {
            ctx.addIssue({
              code: 'custom',
              path: [name],
              message: `dataset name must match ${NAME_PATTERN.source}`,
            });
          } else if (RESERVED_DATASETS.has(name)) {
            ctx.addIssue({ code: 'custom', path: [name], message: `"${name}" is reserved; choose another dataset name` });
          }
        }
      }),
    retention: z
      .object({
        /** Audit entries older than this many days are deleted by the daily retention job. */
        audit_days: z.number().int().positive().default(365),
        /** Per-table sync history is kept this many days. */
        sync_history_days: z.number().int().positive().default(90),
        schedule: z.string().nullable().default('17 3 * * *'),
      })
      .strict()
      .prefault({}),
    ai: AiSchema.prefault({}),
    memory: z
      .object({
        /** Cron pattern of the corporate memory extraction job; null turns it off (POST /api/memory/collect still runs it). */
        collect_schedule: z.string().nullable().default('*/30 * * * *'),
      })
      .strict()
      .prefault({}),
    notifications: z
      .object({
        /** Seconds between the pings the server sends on each notification WebSocket. */
        ping_seconds: z.number().positive().default(30),
        /** Notification WebSockets one user may hold open at once; more are refused. */
        max_connections_per_user: z.number().int().positive().default(5),
      })
      .strict()
      .prefault({}),
    /** Telegram bot for notifications and a few commands; off unless configured. */
    telegram: TelegramSchema.optional(),
    /** User scripts: the sandbox's limits and how many runs are kept. */
    scripts: z
      .object({
        /** Path of bubblewrap (default: `bwrap` on the system path); where it is missing, scripts are refused. */
        bwrap: z.string().min(1).optional(),
        /** Wall-clock limit of one run, in seconds; past it the whole process tree is killed. */
        timeout_s: z.number().int().positive().default(300),
        /** Memory cap of one run (a cgroup where writable), in MB. */
        memory_mb: z.number().int().positive().default(512),
        /** CPU seconds one run may use (prlimit --cpu); default: the wall-clock limit. */
        cpu_s: z.number().int().positive().optional(),
        /** Largest file a run may write (prlimit --fsize), in MB. */
        max_file_mb: z.number().int().positive().default(100),
        /** All files of one run together (work dir and $DA_OUT), in MB; past it the run is killed. */
        max_disk_mb: z.number().int().positive().default(500),
        /** Processes (and threads) the sandbox user may have (prlimit --nproc). */
        max_processes: z.number().int().positive().default(256),
        /** stdout and stderr are each kept up to this many bytes; the rest is cut and the run marked truncated. */
        max_output_bytes: z.number().int().positive().default(256 * 1024),
        /** Largest script source accepted, in bytes. */
        max_source_bytes: z.number().int().positive().default(256 * 1024),
        /** Runs at once on this server; more wait queued. */
        max_concurrent: z.number().int().positive().default(2),
        /** Retention: the newest this many runs of each script are kept… */
        keep_runs: z.number().int().positive().default(50),
        /** …and none older than this many days. */
        run_days: z.number().int().positive().default(30),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
        format: z.enum(['auto', 'json', 'pretty']).default('auto'),
      })
      .strict()
      .prefault({}),
    /** Catalog enrichment from outside catalogs (OpenMetadata). */
    catalog: z
      .object({
        openmetadata: z
          .object({
            /** Base URL of the OpenMetadata server (its REST API is under /api/v1). */
            url: z.string().url(),
            /** A bot's JWT token (`${OPENMETADATA_TOKEN}`). */
            token: z.string().min(1),
            /** Database service name, prefixed to mappings that give only `database.schema`. */
            service: z.string().min(1).optional(),
            /** Cron pattern of the catalog-enrich job (null: only when run by hand). */
            schedule: z.string().nullable().default('0 * * * *'),
            /** Dataset → where its tables live in OpenMetadata: `service.database.schema` (or `database.schema` with `service`). */
            datasets: z.record(z.string(), z.string().regex(/^[^.\s]+(\.[^.\s]+){1,2}$/, 'must be service.database.schema or database.schema')).default({}),
            /** Retries of a 5xx or 429 answer, with exponential backoff or the answer's Retry-After. */
            max_retries: z.number().int().min(0).max(10).default(3),
            retry_backoff_ms: z.number().int().positive().default(500),
            request_timeout_ms: z.number().int().positive().default(30_000),
          })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({}),
    /** Scheduled backups (off by default); `da server backup` works without this. */
    backup: z
      .object({
        /** Cron pattern of the backup job; null (the default) turns scheduled backups off. */
        schedule: z.string().nullable().default(null),
        /** Folder the job writes archives to; relative paths are relative to the data directory. */
        dir: z.string().min(1).default('backups'),
        /** Archives kept in `dir`; older ones are deleted after each successful backup. */
        keep: z.number().int().positive().default(7),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    // Links in mails must not take their host from a request's Host header, which a
    // client chooses (a reset link pointing at another site would hand it the token).
    if (config.email && !config.instance.base_url) {
      ctx.addIssue({ code: 'custom', path: ['instance', 'base_url'], message: 'is needed with email: links in mails point there' });
    }
    if (config.telegram?.mode === 'webhook') {
      // Without the secret anybody could post updates as Telegram; without the base URL there is nowhere to point Telegram.
      if (!config.telegram.webhook_secret) ctx.addIssue({ code: 'custom', path: ['telegram', 'webhook_secret'], message: 'is needed with mode: webhook' });
      if (!config.instance.base_url) ctx.addIssue({ code: 'custom', path: ['instance', 'base_url'], message: 'is needed with telegram mode: webhook (Telegram posts to <base_url>/webhooks/telegram)' });
    }
    const om = config.catalog.openmetadata;
    for (const [dataset, mapped] of Object.entries(om?.datasets ?? {})) {
      if (mapped.split('.').length === 2 && !om?.service) {
        ctx.addIssue({ code: 'custom', path: ['catalog', 'openmetadata', 'datasets', dataset], message: 'gives database.schema only: set catalog.openmetadata.service, or write service.database.schema' });
      }
    }
    if (config.auth.session_idle_seconds > config.auth.session_max_seconds) {
      ctx.addIssue({ code: 'custom', path: ['auth', 'session_idle_seconds'], message: 'must not be longer than auth.session_max_seconds' });
    }
  });

export type Config = z.infer<typeof ConfigSchema> & {
  /** Absolute path of the config file, when one was read. */
  configPath?: string;
  /** Absolute data directory (server.data_dir resolved). */
  dataDir: string;
};

type Env = Record<string, string | undefined>;

/** Replaces `${NAME}` (and `${NAME:-default}`) in every string value with the environment's value. */
export function interpolateEnv(value: unknown, env: Env, path: string[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, name: string, fallback?: string) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`config key ${path.join('.') || '(root)'}: environment variable ${name} is not set`);
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, [...path, String(i)]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env, [...path, k])]),
    );
  }
  return value;
}

function setIn(obj: Record<string, any>, path: string[], value: unknown) {
  let cur = obj;
  for (const key of path.slice(0, -1)) {
    if (cur[key] === undefined || cur[key] === null) cur[key] = {};
    cur = cur[key];
  }
  cur[path[path.length - 1]!] = value;
}

/** Environment variables that override config keys (DESIGN: start-up contract). */
const ENV_OVERRIDES: Array<[string, string[], (v: string) => unknown]> = [
  ['DA_DATA_DIR', ['server', 'data_dir'], (v) => v],
  ['PORT', ['server', 'port'], (v) => (/^\d+$/.test(v) ? Number(v) : v)],
  ['DA_SECRET', ['auth', 'secret'], (v) => v],
  ['DA_ADMIN_EMAIL', ['auth', 'admin_email'], (v) => v],
  ['DA_ADMIN_PASSWORD', ['auth', 'admin_password'], (v) => v],
  ['DA_BASE_URL', ['instance', 'base_url'], (v) => v],
  ['DA_LOG_FORMAT', ['log', 'format'], (v) => v],
];

function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.map(String).join('.') || '(root)';
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys: string[] }).keys.map((k) => (key === '(root)' ? k : `${key}.${k}`));
    return `unknown config key ${keys.join(', ')}`;
  }
  return `config key ${key}: ${issue.message}`;
}

/**
 * Loads the config: `instance.yaml` (path in `DA_CONFIG`, optional), `${ENV}` interpolation,
 * env overrides, validation. Throws ConfigError with one line that names the key.
 *
 * @example const config = loadConfig(process.env)
 */
export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  let raw: unknown = {};
  let configPath: string | undefined;
  if (env.DA_CONFIG) {
    configPath = resolve(cwd, env.DA_CONFIG);
    if (!existsSync(configPath)) throw new ConfigError(`config file ${configPath} (DA_CONFIG) does not exist`);
    try {
      raw = Bun.YAML.parse(readFileSync(configPath, 'utf8')) ?? {};
    } catch (err) {
      const msg = (err as Error).message.split('\n')[0];
      throw new ConfigError(`config file ${configPath} is not valid YAML: ${msg}`);
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      throw new ConfigError(`config file ${configPath} must hold a mapping of keys`);
    }
  }
  const data = interpolateEnv(raw, env) as Record<string, any>;
  for (const [name, path, parse] of ENV_OVERRIDES) {
    const v = env[name];
    if (v !== undefined && v !== '') setIn(data, path, parse(v));
  }
  const parsed = ConfigSchema.safeParse(data);
  if (!parsed.success) throw new ConfigError(describeIssue(parsed.error.issues[0]!));
  // Relative paths are relative to the working directory, like data_dir.
  for (const source of Object.values(parsed.data.sources)) {
    if (source.type === 'local') source.path = resolve(cwd, source.path);
    if (source.type === 'bigquery' && source.credentials_file) source.credentials_file = resolve(cwd, source.credentials_file);
  }
  return { ...parsed.data, configPath, dataDir: resolve(cwd, parsed.data.server.data_dir) };
}
