/**
 * A small, strict tar (POSIX ustar with pax extended headers) writer and reader: what
 * backups are made of. Only regular files are written or accepted; a path that is
 * absolute, climbs out (`..`) or holds a backslash or NUL is refused on reading, so an
 * archive can never write outside the folder it is extracted into. `tar -xzf` reads what
 * the writer produces.
 */

const BLOCK = 512;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An archive that is not a well-formed tar of regular files (or was cut short). */
export class ArchiveFormatError extends Error {
  override name = 'ArchiveFormatError';
}

/** One file to write: its path in the archive, size, and its bytes as a stream. */
export interface TarInput {
  path: string;
  size: number;
  mtimeMs?: number;
  mode?: number;
  body: () => AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;
}

function octal(value: number, width: number): string {
  // width-1 octal digits and a NUL, as ustar fields want.
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function put(block: Uint8Array, offset: number, width: number, text: string) {
  const bytes = encoder.encode(text);
  block.set(bytes.subarray(0, width), offset);
}

function header(name: string, size: number, opts: { mtime: number; mode: number; type: string; prefix?: string }): Uint8Array {
  const h = new Uint8Array(BLOCK);
  put(h, 0, 100, name);
  put(h, 100, 8, octal(opts.mode, 8));
  put(h, 108, 8, octal(0, 8));
  put(h, 116, 8, octal(0, 8));
  put(h, 124, 12, octal(size, 12));
  put(h, 136, 12, octal(Math.floor(opts.mtime), 12));
  put(h, 148, 8, '        ');
  put(h, 156, 1, opts.type);
  put(h, 257, 6, 'ustar\0');
  put(h, 263, 2, '00');
  if (opts.prefix) put(h, 345, 155, opts.prefix);
  let sum = 0;
  for (const b of h) sum += b;
  put(h, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}

/** A pax record `"<len> <key>=<value>\n"`, whose length counts itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = encoder.encode(body).length + 1;
  while (String(len).length + encoder.encode(body).length !== len) len++;
  return `${len}${body}`;
}

function padding(size: number): Uint8Array {
  const rest = size % BLOCK;
  return new Uint8Array(rest ? BLOCK - rest : 0);
}

/** The ustar name/prefix split of `path`, or undefined when it needs a pax header. */
function ustarName(path: string): { name: string; prefix: string } | undefined {
  const bytes = encoder.encode(path).length;
  if (bytes !== path.length) return undefined;
  if (path.length <= 100) return { name: path, prefix: '' };
  for (let i = path.indexOf('/'); i !== -1 && i <= 155; i = path.indexOf('/', i + 1)) {
    const name = path.slice(i + 1);
    if (name.length <= 100 && name.length > 0) return { name, prefix: path.slice(0, i) };
  }
  return undefined;
}

const MAX_OCTAL_SIZE = 8 ** 11 - 1;

/** The header block(s) of one file: a pax header first when the path or size does not fit ustar. */
export function tarHeader(path: string, size: number, mtimeMs = Date.now(), mode = 0o644): Uint8Array {
  const mtime = mtimeMs / 1000;
  const split = ustarName(path);
  const records = (split ? '' : paxRecord('path', path)) + (size > MAX_OCTAL_SIZE ? paxRecord('size', String(size)) : '');
  const main = header(split?.name ?? path.slice(-100).replace(/[^\x20-\x7e]/g, '_'), size > MAX_OCTAL_SIZE ? 0 : size, { mtime, mode, type: '0', prefix: split?.prefix });
  if (!records) return main;
  const pax = encoder.encode(records);
  const paxHeader = header('PaxHeader', pax.length, { mtime, mode: 0o644, type: 'x' });
  const out = new Uint8Array(BLOCK + pax.length + padding(pax.length).length + BLOCK);
  out.set(paxHeader, 0);
  out.set(pax, BLOCK);
  out.set(main, out.length - BLOCK);
  return out;
}

/**
 * The tar stream of `files`, in order. A file that yields more or fewer bytes than its
 * declared size fails the stream (the archive would be corrupt otherwise).
 */
export async function* writeTar(files: AsyncIterable<TarInput> | Iterable<TarInput>): AsyncGenerator<Uint8Array> {
  for await (const f of files) {
    yield tarHeader(f.path, f.size, f.mtimeMs, f.mode);
    let written = 0;
    for await (const chunk of f.body() as AsyncIterable<Uint8Array>) {
      written += chunk.length;
      if (written > f.size) throw new Error(`${f.path} grew while it was archived (more than ${f.size} bytes)`);
      yield chunk;
    }
    if (written !== f.size) throw new Error(`${f.path} changed while it was archived (${written} of ${f.size} bytes)`);
    const pad = padding(f.size);
    if (pad.length) yield pad;
  }
  yield new Uint8Array(BLOCK * 2);
}

/** A file met while reading: its path, size, and its bytes (read them before asking for the next entry). */
export interface TarEntry {
  path: string;
  size: number;
  mtimeMs: number;
  body: AsyncGenerator<Uint8Array>;
}

/** Refuses paths that could land outside the extraction folder. */
export function safeArchivePath(path: string): string {
  if (!path || path.length > 4096 || path.startsWith('/') || path.includes('\\') || path.includes('\0')) {
    throw new ArchiveFormatError(`unsafe path in archive: ${JSON.stringify(path.slice(0, 200))}`);
  }
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (!parts.length || parts.some((p) => p === '..')) throw new ArchiveFormatError(`unsafe path in archive: ${JSON.stringify(path.slice(0, 200))}`);
  return parts.join('/');
}

function field(block: Uint8Array, offset: number, width: number): string {
  const slice = block.subarray(offset, offset + width);
  const end = slice.indexOf(0);
  return decoder.decode(end === -1 ? slice : slice.subarray(0, end));
}

function parseOctal(block: Uint8Array, offset: number, width: number, what: string): number {
  const text = field(block, offset, width).trim();
  if (!/^[0-7]*$/.test(text)) throw new ArchiveFormatError(`bad ${what} field in a tar header`);
  return text ? parseInt(text, 8) : 0;
}

function checksumOk(block: Uint8Array): boolean {
  const stored = parseOctal(block, 148, 8, 'checksum');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  return sum === stored;
}

/** Reads exact byte counts from a chunked stream. */
class ByteReader {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private done = false;
  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n && !this.done) {
      const { value, done } = await this.source.next();
      if (done) this.done = true;
      else if (value.length) {
        this.chunks.push(value);
        this.buffered += value.length;
      }
    }
    return this.buffered >= n;
  }

  /** Exactly n bytes, or undefined at a clean end of input (nothing left). */
  async exact(n: number): Promise<Uint8Array | undefined> {
    if (!(await this.fill(n))) {
      if (this.buffered === 0) return undefined;
      throw new ArchiveFormatError('the archive ends in the middle of an entry (truncated)');
    }
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const head = this.chunks[0]!;
      const take = Math.min(head.length, n - at);
      out.set(head.subarray(0, take), at);
      at += take;
      if (take === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(take);
    }
    this.buffered -= n;
    return out;
  }

  /** Up to `n` bytes as they come (at least one), for streaming a file's body. */
  async some(n: number): Promise<Uint8Array> {
    if (!(await this.fill(1))) throw new ArchiveFormatError('the archive ends in the middle of a file (truncated)');
    const head = this.chunks[0]!;
    const take = Math.min(head.length, n);
    if (take === head.length) this.chunks.shift();
    else this.chunks[0] = head.subarray(take);
    this.buffered -= take;
    return head.subarray(0, take);
  }

  async skip(n: number): Promise<void> {
    for (let left = n; left > 0; ) left -= (await this.some(left)).length;
  }
}

function parsePax(data: Uint8Array): Record<string, string> {
  // Record lengths count bytes, not characters.
  const out: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const len = Number(decoder.decode(data.subarray(at, space)));
    if (space === -1 || !Number.isInteger(len) || len <= space - at + 1 || at + len > data.length) throw new ArchiveFormatError('bad pax header in archive');
    const record = decoder.decode(data.subarray(space + 1, at + len - 1));
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    at += len;
  }
  return out;
}

/**
 * The regular files of a tar stream, in order. Checks every header's checksum, refuses
 * links, devices and unsafe paths, and fails on a stream cut short. Each entry's body must
 * be consumed (or left: it is skipped) before the next entry is asked for.
 */
export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntry> {
  const reader = new ByteReader(source[Symbol.asyncIterator]());
  let pax: Record<string, string> = {};
  let sawEnd = false;
  for (;;) {
    const block = await reader.exact(BLOCK);
    if (!block) break;
    if (block.every((b) => b === 0)) {
      sawEnd = true;
      break;
    }
    if (!checksumOk(block)) throw new ArchiveFormatError('a tar header is damaged (checksum mismatch)');
    const type = String.fromCharCode(block[156]!);
    let size = parseOctal(block, 124, 12, 'size');
    if (type === 'x') {
      const data = await reader.exact(size);
      if (!data) throw new ArchiveFormatError('the archive ends in a pax header (truncated)');
      await reader.skip(padding(size).length);
      pax = parsePax(data);
      continue;
    }
    if (type === 'g') {
      await reader.skip(size + padding(size).length);
      continue;
    }
    const prefix = field(block, 345, 155);
    let path = pax.path ?? (prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100));
    if (pax.size) size = Number(pax.size);
    pax = {};
    if (type === '5') {
      safeArchivePath(path);
      continue;
    }
    if (type !== '0' && type !== '\0') throw new ArchiveFormatError(`archive entry ${JSON.stringify(path.slice(0, 200))} is not a regular file (type ${JSON.stringify(type)})`);
    path = safeArchivePath(path);
    const mtimeMs = parseOctal(block, 136, 12, 'mtime') * 1000;
    let left = size;
    const body = (async function* () {
      while (left > 0) {
        const chunk = await reader.some(Math.min(left, 1 << 20));
        left -= chunk.length;
        yield chunk;
      }
    })();
    yield { path, size, mtimeMs, body };
    // Whatever the consumer did not read is skipped, then the padding.
    for await (const _ of body) {
      // drain
    }
    // A consumer that stopped early closed the generator: skip what it left.
    if (left > 0) await reader.skip(left);
    await reader.skip(padding(size).length);
  }
  if (!sawEnd) throw new ArchiveFormatError('the archive has no end marker (truncated)');
}
