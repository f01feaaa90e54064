import { writeSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';

/**
 * Standard output and error without Node's streams. Creating `process.stdout` (or stdin, or
 * stderr) sets up a stream machinery that cost a compiled `da` about 12 ms on this machine,
 * more than twice a whole hello world, and clipanion touched all three when it loaded. The
 * compiled `da` writes through these instead: synchronous writes to the file descriptor,
 * which also means nothing is left unflushed when the process exits. scripts/build-cli.ts
 * points clipanion's default context here (`globalThis.__DA_STDIO__`, set by cli/main.ts
 * before clipanion loads); run from source (tests) nothing changes.
 */

/** The few members of a writable stream that `da` uses: `write` and `isTTY`. */
export class FdWriter {
  constructor(readonly fd: number) {}

  write(chunk: string | Uint8Array, encoding?: unknown, cb?: unknown): boolean {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    while (buf.byteLength) {
      try {
        buf = buf.subarray(writeSync(this.fd, buf));
      } catch (err) {
        const code = (err as { code?: string }).code;
        // A descriptor some parent left non-blocking: wait a moment for the reader.
        if (code === 'EAGAIN') Bun.sleepSync(1);
        // The reader is gone (`da query | head`): the rest has nowhere to go.
        else if (code === 'EPIPE') return false;
        else throw err;
      }
    }
    const done = typeof encoding === 'function' ? encoding : cb;
    if (typeof done === 'function') done();
    return true;
  }

  get isTTY(): boolean {
    return isTty(this.fd);
  }
}

/** Whether `fd` is a terminal, asked without creating a stream for it (undefined when that cannot be told cheaply). */
export function ttyOf(fd: number): boolean | undefined {
  try {
    const isTTY = (process as unknown as { binding(name: string): { isTTY?(fd: number): boolean } }).binding('tty_wrap').isTTY;
    return typeof isTTY === 'function' ? isTTY(fd) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `fd` is a terminal (the stream's own answer when it cannot be told cheaply). */
export function isTty(fd: number): boolean {
  return ttyOf(fd) ?? Boolean([process.stdin, process.stdout, process.stderr][fd]?.isTTY);
}

const LAZY = Symbol('lazy stdin');

/**
 * stdin, created on first use: a command that reads it (`da query` without SQL, `da login`
 * with the password piped in, `da mcp`) gets `process.stdin` itself through this stand-in.
 */
export function lazyStdin(): Readable {
  return new Proxy({} as Readable, {
    get(_target, prop) {
      if (prop === LAZY) return true;
      const stdin = process.stdin as unknown as Record<string | symbol, unknown>;
      const value = stdin[prop];
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(stdin) : value;
    },
    has: (_target, prop) => prop === LAZY || prop in process.stdin,
  });
}

/** The context streams `da` runs with when compiled. */
export function lightStdio() {
  return {
    env: process.env,
    stdin: lazyStdin(),
    stdout: new FdWriter(1) as unknown as Writable,
    stderr: new FdWriter(2) as unknown as Writable,
    // Colours are decided by cli/run.ts wantsColor; clipanion's own guess is not used.
    colorDepth: 1,
  };
}

/** A real Node stream for a context stream, for code that needs the whole stream API (the MCP transport). */
export function realStream<T extends Readable | Writable>(s: T): T {
  if ((s as unknown as Record<symbol, unknown>)[LAZY] === true) return process.stdin as unknown as T;
  if (s instanceof FdWriter) return (s.fd === 1 ? process.stdout : process.stderr) as unknown as T;
  return s;
}
