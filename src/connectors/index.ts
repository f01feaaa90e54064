import type { SourceConfig } from '../config.ts';
import { createLocalConnector } from './local/index.ts';
import type { Connector } from './types.ts';

export * from './types.ts';

/** Options that reach connectors from the engine (not from config). */
export interface ConnectorOptions {
  fetch?: typeof fetch;
}

/** The connector for one configured source (`sources.<dataset>` in instance.yaml). */
export function createConnector(dataset: string, source: SourceConfig, _options: ConnectorOptions = {}): Connector {
  switch (source.type) {
    case 'local':
      return createLocalConnector(dataset, source);
    default:
      throw new Error(`source ${dataset}: type ${(source as { type: string }).type} has no connector`);
  }
}
