#!/usr/bin/env bun
/** Entry point of the `da` executable (compiled by scripts/build-cli.ts). */
import { runCli } from './run.ts';

const code = await runCli(process.argv.slice(2));
// Flush stdout before leaving: a piped `da … --json` must not lose its document.
process.exitCode = code;
