/** How the pages write numbers, sizes and times (one way everywhere). */

// One formatter each: toLocaleString builds a new one per call, which costs more than the rest of a chart.
const INTEGER = new Intl.NumberFormat('en');
const DECIMAL = new Intl.NumberFormat('en', { maximumFractionDigits: 4 });

/** `1536` → `1.5 KiB`; null → ''. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) (v /= 1024), i++;
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** `1234` → `1,234`; null → ''. */
export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? '' : INTEGER.format(n);
}

/** An ISO time as `2026-01-02 03:04 UTC`; null → `never`. */
export function formatTime(iso: string | null | undefined): string {
  return iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : 'never';
}

/** How long ago an ISO time was, in words (`5 min ago`, `3 h ago`, `2 days ago`). */
export function formatAge(iso: string | null | undefined, now: number): string {
  if (!iso) return 'never';
  const ms = Math.max(0, now - Date.parse(iso));
  const min = Math.floor(ms / 60_000);
  if (min < 1) return 'just now';
  if (min < 120) return `${min} min ago`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} days ago`;
}

/** A statistic for a table cell: numbers rounded to what a reader needs, text as is; null → '—'. */
export function formatValue(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return INTEGER.format(v);
    const abs = Math.abs(v);
    return abs !== 0 && (abs < 0.001 || abs >= 1e12) ? v.toExponential(3) : DECIMAL.format(v);
  }
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A time-like value from a profile (`2024-01-01T00:00:00.000Z`, `2024-01-01 10:00:00`) without the noise. */
export function formatDateValue(v: unknown): string {
  if (typeof v !== 'string') return formatValue(v);
  return v.replace(/T00:00:00(\.000)?Z?$/, '').replace(/(\.000)?Z$/, '').replace('T', ' ');
}
