/**
 * What the server accepts from `da sync` uploads. Shared by the upload routes and the CLI
 * (which skips what would be refused), so the two cannot drift apart. No server imports:
 * the compiled CLI bundles this file.
 */

/** Most bytes one upload may have, per kind. */
export const UPLOAD_LIMITS = { sessions: 50 * 1024 ** 2, artifacts: 50 * 1024 ** 2, 'local-md': 1024 ** 2 } as const;

export type UploadKind = keyof typeof UPLOAD_LIMITS;

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
const MAX_SEGMENTS = 6;

/** Splits an upload name (`project/2024-05-01.jsonl`) into safe path segments, or undefined. */
export function parseUploadName(name: string, kind: UploadKind): string[] | undefined {
  const segs = name.split('/');
  if (segs.length > MAX_SEGMENTS || !segs.every((s) => SEGMENT.test(s) && !s.includes('..'))) return undefined;
  if (kind === 'sessions' && !name.endsWith('.jsonl')) return undefined;
  return segs;
}
