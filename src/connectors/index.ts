import type { SourceConfig } from '../config.ts';
import { createBigQueryConnector } from './bigquery/index.ts';
import { createJiraConnector } from './jira/index.ts';
import { createKeboolaConnector } from './keboola/index.ts';
import { createLocalConnector } from './local/index.ts';
import type { Connector } from './types.ts';
import type { JiraEventsRepository } from '../repositories/jira-events.ts';

export * from './types.ts';

/** Options that reach connectors from the engine (not from config). */
export interface ConnectorOptions {
  /** The HTTP client remote connectors use (default: global fetch). */
  fetch?: typeof fetch;
  /** Accepted Jira webhook events, which Jira pulls apply. */
  jiraEvents?: JiraEventsRepository;
}

/** The connector for one configured source (`sources.<dataset>` in instance.yaml). */
export function createConnector(dataset: string, source: SourceConfig, options: ConnectorOptions = {}): Connector {
  switch (source.type) {
    case 'local':
      return createLocalConnector(dataset, source);
    case 'keboola':
      return createKeboolaConnector(dataset, source, { fetch: options.fetch });
    case 'jira':
      return createJiraConnector(dataset, source, { fetch: options.fetch, events: options.jiraEvents });
    case 'bigquery':
      return createBigQueryConnector(dataset, source);
    default:
      throw new Error(`source ${dataset}: type ${(source as { type: string }).type} has no connector`);
  }
}
