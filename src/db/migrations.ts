/**
 * Numbered schema migrations of system.duckdb. Append new ones; never edit an applied one.
 * Each runs in one transaction together with its schema_migrations row.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'initial state tables',
    sql: `
CREATE TABLE users (
  id VARCHAR PRIMARY KEY,
  email VARCHAR NOT NULL UNIQUE,
  name VARCHAR,
  role VARCHAR NOT NULL DEFAULT 'analyst' CHECK (role IN ('viewer','analyst','admin','km_admin')),
  password_hash VARCHAR,
  active BOOLEAN NOT NULL DEFAULT true,
  created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
  updated_at TIMESTAMP,
  last_login_at TIMESTAMP
);

CREATE TABLE user_sync_settings (
  user_id VARCHAR NOT NULL,
  dataset VARCHAR NOT NULL,
  enabled BOOLEAN NOT NULL DEFAULT false,
  table_mode VARCHAR NOT NULL DEFAULT 'all' CHECK (table_mode IN ('all','explicit')),
  tables JSON,
  updated_at TIMESTAMP,
  PRIMARY KEY (user_id, dataset)
);

CREATE TABLE dataset_permissions (
  user_id VARCHAR NOT NULL,
  dataset VARCHAR NOT NULL,
  access VARCHAR NOT NULL DEFAULT 'read' CHECK (access IN ('read','none')),
  granted_by VARCHAR,
  granted_at TIMESTAMP,
  PRIMARY KEY (user_id, dataset)
);

CREATE TABLE sync_state (
  table_id VARCHAR PRIMARY KEY,
  last_sync TIMESTAMP,
  rows BIGINT,
  file_size_bytes BIGINT,
  uncompressed_size_bytes BIGINT,
  columns INTEGER,
  hash VARCHAR,
  watermark VARCHAR,
  status VARCHAR DEFAULT 'ok',
  error TEXT
);

CREATE TABLE sync_history (
  id VARCHAR PRIMARY KEY,
  table_id VARCHAR NOT NULL,
  job_id VARCHAR,
  synced_at TIMESTAMP NOT NULL,
  rows BIGINT,
  bytes BIGINT,
  columns INTEGER,
  duration_ms INTEGER,
  status VARCHAR,
  error TEXT
);

CREATE TABLE sync_jobs (
  id VARCHAR PRIMARY KEY,
  status VARCHAR NOT NULL CHECK (status IN ('queued','running','succeeded','failed')),
  requested_by VARCHAR,
  tables JSON,
  created_at TIMESTAMP NOT NULL,
  started_at TIMESTAMP,
  finished_at TIMESTAMP,
  result JSON,
  error TEXT
);

CREATE TABLE knowledge_items (
  id VARCHAR PRIMARY KEY,
  title VARCHAR NOT NULL,
  content TEXT,
  category VARCHAR,
  tags VARCHAR[],
  status VARCHAR NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','approved','mandatory','rejected')),
  contributors VARCHAR[],
  source_user VARCHAR,
  audience VARCHAR,
  created_at TIMESTAMP,
  updated_at TIMESTAMP
);

CREATE TABLE knowledge_votes (
  item_id VARCHAR NOT NULL,
  user_id VARCHAR NOT NULL,
  vote INTEGER NOT NULL CHECK (vote IN (1,-1)),
  voted_at TIMESTAMP,
  PRIMARY KEY (item_id, user_id)
);

CREATE TABLE audit_log (
  id VARCHAR PRIMARY KEY,
  timestamp TIMESTAMP NOT NULL,
  request_id VARCHAR,
  user_id VARCHAR,
  action VARCHAR NOT NULL,
  resource VARCHAR,
  params JSON,
  result VARCHAR,
  status INTEGER,
  duration_ms INTEGER,
  ip VARCHAR
);

CREATE TABLE telegram_links (
  user_id VARCHAR PRIMARY KEY,
  chat_id BIGINT NOT NULL,
  linked_at TIMESTAMP
);

CREATE TABLE pending_codes (
  code VARCHAR PRIMARY KEY,
  chat_id BIGINT NOT NULL,
  created_at TIMESTAMP
);

CREATE TABLE script_registry (
  id VARCHAR PRIMARY KEY,
  name VARCHAR NOT NULL,
  owner VARCHAR,
  schedule VARCHAR,
  source TEXT NOT NULL,
  deployed_at TIMESTAMP,
  last_run TIMESTAMP,
  last_status VARCHAR
);

CREATE TABLE table_registry (
  id VARCHAR PRIMARY KEY,
  name VARCHAR NOT NULL,
  folder VARCHAR NOT NULL,
  source_table VARCHAR NOT NULL,
  sync_strategy VARCHAR NOT NULL DEFAULT 'full' CHECK (sync_strategy IN ('full','incremental')),
  primary_key VARCHAR,
  description TEXT,
  enabled BOOLEAN NOT NULL DEFAULT true,
  registered_by VARCHAR,
  registered_at TIMESTAMP,
  updated_at TIMESTAMP
);

CREATE TABLE table_profiles (
  table_id VARCHAR PRIMARY KEY,
  profile JSON NOT NULL,
  profiled_at TIMESTAMP
);

CREATE TABLE personal_access_tokens (
  id VARCHAR PRIMARY KEY,
  user_id VARCHAR NOT NULL,
  name VARCHAR NOT NULL,
  token_hash VARCHAR NOT NULL UNIQUE,
  prefix VARCHAR NOT NULL,
  created_at TIMESTAMP NOT NULL,
  expires_at TIMESTAMP,
  last_used_at TIMESTAMP,
  revoked_at TIMESTAMP
);

-- Setup, reset and magic-link tokens: single use, expiring, stored as sha256.
CREATE TABLE one_time_tokens (
  token_hash VARCHAR PRIMARY KEY,
  kind VARCHAR NOT NULL CHECK (kind IN ('setup','reset','magic_link')),
  user_id VARCHAR NOT NULL,
  created_at TIMESTAMP NOT NULL,
  expires_at TIMESTAMP NOT NULL,
  used_at TIMESTAMP
);

-- JWTs revoked before their expiry (logout); rows past expires_at can be dropped.
CREATE TABLE revoked_tokens (
  jti VARCHAR PRIMARY KEY,
  expires_at TIMESTAMP NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'one-time codes of the browser sign-in of da login',
    sql: `
-- The browser hands \`da login\` a short-lived code, never the token itself (URLs end up in
-- browser history); the CLI trades code + PKCE verifier for a personal access token.
CREATE TABLE cli_login_codes (
  code_hash VARCHAR PRIMARY KEY,
  user_id VARCHAR NOT NULL,
  token_name VARCHAR NOT NULL,
  challenge VARCHAR NOT NULL,
  created_at TIMESTAMP NOT NULL,
  expires_at TIMESTAMP NOT NULL,
  used_at TIMESTAMP
);
`,
  },
  {
    version: 3,
    name: 'per-user token generation that ends every session at once',
    sql: `
-- Each access token (JWT, web session) carries the generation it was signed under; a
-- password change or deactivation bumps it, so every earlier token stops working at once.
-- No row reads as 0. A table of its own, not a column of users: DuckDB 1.5 cannot replay an
-- ALTER TABLE users from the WAL (binding its current_timestamp default fails), so a server
-- killed before its next checkpoint would not start again.
CREATE TABLE user_token_generations (
  user_id VARCHAR PRIMARY KEY,
  generation INTEGER NOT NULL
);
`,
  },
  {
    version: 4,
    name: 'one record of runs for every job',
    sql: `
-- Every run of every job (data refresh, retention, later script schedules), whoever
-- started it; sync_jobs keeps the per-table detail of data refreshes.
CREATE TABLE job_runs (
  id VARCHAR PRIMARY KEY,
  name VARCHAR NOT NULL,
  trigger VARCHAR NOT NULL CHECK (trigger IN ('schedule','manual')),
  started_at TIMESTAMP NOT NULL,
  finished_at TIMESTAMP,
  status VARCHAR NOT NULL CHECK (status IN ('running','succeeded','failed')),
  error VARCHAR
);
`,
  },
  {
    version: 5,
    name: 'access requests: a user asks for read on a dataset, an admin decides',
    sql: `
-- A user asks for read access to a dataset; an admin approves (which grants read in the same
-- transaction) or denies it with a note. At most one pending request per user and dataset,
-- enforced by the repository (DuckDB has no partial unique index).
CREATE TABLE access_requests (
  id VARCHAR PRIMARY KEY,
  user_id VARCHAR NOT NULL,
  dataset VARCHAR NOT NULL,
  reason VARCHAR NOT NULL,
  status VARCHAR NOT NULL CHECK (status IN ('pending','approved','denied')),
  note VARCHAR,
  created_at TIMESTAMP NOT NULL,
  decided_by VARCHAR,
  decided_at TIMESTAMP
);
`,
  },
  {
    version: 6,
    name: 'the metrics catalog',
    sql: `
-- The company's metric definitions: one SELECT each, over the datasets it names. datasets
-- and tags are JSON arrays of strings. Drafts are proposals; certified ones are delivered
-- with da sync.
CREATE TABLE metrics (
  id VARCHAR PRIMARY KEY,
  name VARCHAR NOT NULL UNIQUE,
  description VARCHAR NOT NULL,
  sql VARCHAR NOT NULL,
  datasets JSON NOT NULL,
  owner VARCHAR NOT NULL,
  unit VARCHAR NOT NULL,
  grain VARCHAR NOT NULL,
  tags JSON NOT NULL,
  status VARCHAR NOT NULL CHECK (status IN ('draft','certified')),
  created_by VARCHAR,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL
);
`,
  },
  {
    version: 7,
    name: 'corporate memory: items, contributors, votes, history, extraction cursor',
    sql: `
-- Corporate memory (replaces the unused knowledge_items/knowledge_votes of the first schema).
-- tags is a JSON array of strings; audience is null (everyone) or {roles?, users?, datasets?}.
-- fingerprint is the normalised title, which extraction dedups on (a rejected item keeps it,
-- so what an admin rejected is never proposed again).
CREATE TABLE memory_items (
  id VARCHAR PRIMARY KEY,
  title VARCHAR NOT NULL,
  content VARCHAR NOT NULL,
  category VARCHAR NOT NULL,
  tags JSON NOT NULL,
  status VARCHAR NOT NULL CHECK (status IN ('pending','approved','mandatory','rejected','revoked')),
  audience JSON,
  source VARCHAR,
  fingerprint VARCHAR NOT NULL,
  created_by VARCHAR,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL
);

-- Who contributed an item: its author or uploader, and everyone whose notes said it again.
CREATE TABLE memory_contributors (
  item_id VARCHAR NOT NULL,
  user_id VARCHAR NOT NULL,
  added_at TIMESTAMP NOT NULL,
  PRIMARY KEY (item_id, user_id)
);

-- One vote per user and item; a vote of 0 deletes the row.
CREATE TABLE memory_votes (
  item_id VARCHAR NOT NULL,
  user_id VARCHAR NOT NULL,
  vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
  voted_at TIMESTAMP NOT NULL,
  PRIMARY KEY (item_id, user_id)
);

-- Every change of an item, with who made it (null: the extraction job) and why.
CREATE TABLE memory_history (
  id VARCHAR PRIMARY KEY,
  item_id VARCHAR NOT NULL,
  changed_at TIMESTAMP NOT NULL,
  actor VARCHAR,
  action VARCHAR NOT NULL,
  from_status VARCHAR,
  to_status VARCHAR,
  note VARCHAR,
  changes JSON
);

-- The extraction cursor: each upload read, by its path under uploads/, with the content hash
-- it had, so an unchanged file is not read again.
CREATE TABLE memory_sources (
  path VARCHAR PRIMARY KEY,
  sha256 VARCHAR NOT NULL,
  user_id VARCHAR NOT NULL,
  items INTEGER NOT NULL,
  extracted_at TIMESTAMP NOT NULL
);
`,
  },
  {
    version: 8,
    name: 'user scripts and their runs',
    sql: `
-- Deployed user scripts (replacing the unused script_registry of the first schema). A name is
-- unique per owner. schedule is a cron pattern or null.
CREATE TABLE scripts (
  id VARCHAR PRIMARY KEY,
  name VARCHAR NOT NULL,
  owner VARCHAR NOT NULL,
  language VARCHAR NOT NULL CHECK (language IN ('sql','typescript','javascript','python')),
  source VARCHAR NOT NULL,
  schedule VARCHAR,
  enabled BOOLEAN NOT NULL,
  created_at TIMESTAMP NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  UNIQUE (owner, name)
);

-- One row per run: what ran, how it ended, its (capped) output and the files it left in $DA_OUT.
CREATE TABLE script_runs (
  id VARCHAR PRIMARY KEY,
  script_id VARCHAR NOT NULL,
  trigger VARCHAR NOT NULL CHECK (trigger IN ('manual','schedule')),
  requested_by VARCHAR,
  status VARCHAR NOT NULL CHECK (status IN ('queued','running','succeeded','failed','timed_out','killed')),
  exit_code INTEGER,
  reason VARCHAR,
  stdout VARCHAR NOT NULL,
  stderr VARCHAR NOT NULL,
  truncated BOOLEAN NOT NULL,
  duration_ms INTEGER,
  artifacts JSON NOT NULL,
  queued_at TIMESTAMP NOT NULL,
  started_at TIMESTAMP,
  finished_at TIMESTAMP
);
`,
  },
  {
    version: 9,
    name: 'notifications: link codes, channel choices, health findings',
    sql: `
-- One-time codes the Telegram bot hands out on /start: stored as an HMAC of the code (never
-- the code), good until expires_at, deleted when used. telegram_links (version 1) keeps the
-- linked chat of each user.
CREATE TABLE telegram_link_codes (
  code_hash VARCHAR PRIMARY KEY,
  chat_id BIGINT NOT NULL,
  created_at TIMESTAMP NOT NULL,
  expires_at TIMESTAMP NOT NULL
);

-- Which channel each user turned off or on for each kind of notification; no row: on.
CREATE TABLE notification_preferences (
  user_id VARCHAR NOT NULL,
  event VARCHAR NOT NULL,
  channel VARCHAR NOT NULL CHECK (channel IN ('websocket','telegram')),
  enabled BOOLEAN NOT NULL,
  updated_at TIMESTAMP NOT NULL,
  PRIMARY KEY (user_id, event, channel)
);

-- What the health job found at its last run, one row per check.
CREATE TABLE health_checks (
  name VARCHAR PRIMARY KEY,
  ok BOOLEAN NOT NULL,
  detail VARCHAR NOT NULL,
  checked_at TIMESTAMP NOT NULL
);
`,
  },
  {
    version: 10,
    name: 'registered tables whose source no longer offers them',
    sql: `
-- A registered table whose file or source table disappeared from its source: it keeps its
-- last file and stays served until an admin unregisters it; the row goes when it reappears.
-- A table of its own, not a column of table_registry (no ALTER TABLE: DuckDB 1.5 WAL replay).
CREATE TABLE table_source_status (
  table_id VARCHAR PRIMARY KEY,
  missing_since TIMESTAMP NOT NULL
);
`,
  },
  {
    version: 11,
    name: 'part files of tables synced by delta',
    sql: `
-- A table with a primary key and the incremental strategy is also kept as a base file plus
-- delta files (new and changed rows, deleted keys) that da downloads instead of the whole file.
CREATE TABLE table_parts (
  table_id VARCHAR NOT NULL,
  seq INTEGER NOT NULL,
  kind VARCHAR NOT NULL CHECK (kind IN ('base','delta')),
  hash VARCHAR NOT NULL,
  size_bytes BIGINT NOT NULL,
  rows_inserted BIGINT NOT NULL,
  rows_updated BIGINT NOT NULL,
  rows_deleted BIGINT NOT NULL,
  full_hash VARCHAR NOT NULL,
  created_at TIMESTAMP NOT NULL,
  PRIMARY KEY (table_id, seq)
);
`,
  },
  {
    version: 12,
    name: 'accepted Jira webhook events',
    sql: `
-- Jira webhook events, stored when accepted and applied to the dataset's Parquet tables by
-- the next sync of them (each table's watermark names the last seq it applied). Events
-- that delete rows stay as tombstones, so a replayed older event cannot bring rows back.
-- seq comes from a sequence: applied events are pruned, and a number must never come back.
CREATE SEQUENCE jira_webhook_event_seq START 1;
CREATE TABLE jira_webhook_events (
  seq BIGINT PRIMARY KEY,
  dataset VARCHAR NOT NULL,
  event VARCHAR NOT NULL,
  change VARCHAR NOT NULL,
  deletes BOOLEAN NOT NULL,
  received_at TIMESTAMP NOT NULL
);
`,
  },
  {
    version: 13,
    name: 'table and column descriptions and tags from admins and OpenMetadata',
    sql: `
-- What is said about a table beside its source: one row per table and origin ('admin' for
-- edits in /admin/tables or PATCH /api/tables/{id}, 'openmetadata' for the catalog-enrich
-- job). The catalog merges them: admin over OpenMetadata over the source's own description.
-- tags and columns are JSON (a list of strings; {<column>: {description}}).
CREATE TABLE table_annotations (
  table_id VARCHAR NOT NULL,
  origin VARCHAR NOT NULL CHECK (origin IN ('admin','openmetadata')),
  description VARCHAR,
  tags VARCHAR,
  columns VARCHAR NOT NULL,
  detail VARCHAR,
  updated_by VARCHAR,
  updated_at TIMESTAMP NOT NULL,
  PRIMARY KEY (table_id, origin)
);

-- What each run of the catalog-enrich job did: result is JSON (enriched, not_found, skipped, errors).
CREATE TABLE catalog_enrichment_runs (
  id VARCHAR PRIMARY KEY,
  origin VARCHAR NOT NULL,
  started_at TIMESTAMP NOT NULL,
  finished_at TIMESTAMP NOT NULL,
  status VARCHAR NOT NULL CHECK (status IN ('succeeded','failed')),
  error VARCHAR,
  result VARCHAR NOT NULL
);
`,
  },
];
