import type { Readable, Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { errorDetail, oneLine, processGuard } from '../errors.ts';
import { createDaMcpServer, syncedCount, type DaMcpOptions } from './server.ts';

/**
 * Serves the `da mcp` server on stdio until the client goes away (stdin ends or stdout breaks).
 * While it serves, stdout carries only MCP messages: console output goes to stderr, and an
 * error that escapes every handler is logged instead of ending the process.
 */
export async function serveMcp(opts: DaMcpOptions & { stdin: Readable; stdout: Writable; detailed: boolean }): Promise<void> {
  const { log } = opts;
  const server = createDaMcpServer(opts);
  const saved = { log: console.log, info: console.info, debug: console.debug, warn: console.warn };
  console.log = console.info = console.debug = console.warn = (...args: unknown[]) => log(args.map(String).join(' '));
  processGuard.survive = (err) =>
    log(`da mcp: unexpected error (still serving): ${oneLine(err instanceof Error ? err.message : String(err))}${opts.detailed ? `\n${errorDetail(err)}` : ''}`);
  try {
    const closed = new Promise<void>((done) => {
      server.server.onclose = done;
      opts.stdin.once('end', () => void server.close());
      opts.stdin.once('close', () => void server.close());
      opts.stdout.once('error', () => void server.close());
    });
    await server.connect(new StdioServerTransport(opts.stdin, opts.stdout));
    log(`da mcp: serving ${opts.ws.root} (${syncedCount(opts.configDir, opts.ws)} synced tables) on stdio`);
    await closed;
  } finally {
    processGuard.survive = undefined;
    Object.assign(console, saved);
  }
}
