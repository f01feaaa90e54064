import { formatCount, formatDateValue, formatValue } from '../format.ts';

/** One bin of a histogram, as the profile stores it. */
export interface Bin {
  lower: unknown;
  upper: unknown;
  count: number;
}

const W = 320;
const H = 80;
const AXIS = 14;

const pct = (n: number, total: number) => (total > 0 ? `${((n / total) * 100).toFixed(1)} %` : '');

/**
 * A histogram as inline SVG: one `<rect>` per bin, its range and count in a `<title>`
 * (the browser's tooltip), the extremes under the axis. No script, no chart library.
 */
export function Histogram({ bins, column, dates = false }: { bins: Bin[]; column: string; dates?: boolean }) {
  const max = Math.max(1, ...bins.map((b) => b.count));
  const total = bins.reduce((n, b) => n + b.count, 0);
  const step = W / Math.max(1, bins.length);
  const show = (v: unknown) => (dates ? formatDateValue(v) : formatValue(v));
  const first = bins[0];
  const last = bins[bins.length - 1];
  return (
    <svg
      class="chart histogram"
      viewBox={`0 0 ${W} ${H + AXIS}`}
      width={W}
      height={H + AXIS}
      role="img"
      aria-label={`Histogram of ${column}: ${bins.length} bins from ${show(first?.lower)} to ${show(last?.upper)}`}
      data-testid={`histogram-${column}`}
    >
      <line x1="0" y1={H + 0.5} x2={W} y2={H + 0.5} stroke="#888" stroke-width="1" />
      {bins.map((b, i) => {
        const h = b.count ? Math.max(1, Math.round((b.count / max) * (H - 2))) : 0;
        return (
          <rect class="bar" fill="#3b6fd8" x={(i * step + 0.5).toFixed(1)} y={H - h} width={Math.max(1, step - 1).toFixed(1)} height={h}>
            <title>{`${show(b.lower)} – ${show(b.upper)}: ${formatCount(b.count)} rows (${pct(b.count, total)})`}</title>
          </rect>
        );
      })}
      <text x="0" y={H + AXIS - 2}>{show(first?.lower)}</text>
      <text x={W} y={H + AXIS - 2} text-anchor="end">{show(last?.upper)}</text>
    </svg>
  );
}

/** One entry of a top-values list. */
export interface TopValue {
  value: unknown;
  count: number;
}

const LABEL_CHARS = 20;

/**
 * The most frequent values as horizontal bars (inline SVG): a `<rect>` per value, sized by
 * its share of `rows`, with the full value and count in its `<title>`.
 */
export function TopValues({ values, rows, column }: { values: TopValue[]; rows: number; column: string }) {
  const rowH = 18;
  const labelW = 140;
  const barW = W - labelW - 44;
  const max = Math.max(1, ...values.map((v) => v.count));
  const height = values.length * rowH;
  return (
    <svg
      class="chart top-values"
      viewBox={`0 0 ${W} ${height}`}
      width={W}
      height={height}
      role="img"
      aria-label={`Most frequent values of ${column}`}
      data-testid={`top-values-${column}`}
    >
      {values.map((v, i) => {
        const text = v.value === null ? '(null)' : String(v.value);
        const label = text.length > LABEL_CHARS ? `${text.slice(0, LABEL_CHARS - 1)}…` : text;
        const w = Math.max(1, Math.round((v.count / max) * barW));
        const y = i * rowH;
        return (
          <g>
            <text x={labelW - 4} y={y + 13} text-anchor="end">{label}</text>
            <rect class="bar" fill="#3b6fd8" x={labelW} y={y + 3} width={w} height={rowH - 6}>
              <title>{`${text}: ${formatCount(v.count)} rows (${pct(v.count, rows)})`}</title>
            </rect>
            <text x={labelW + w + 4} y={y + 13}>{pct(v.count, rows)}</text>
          </g>
        );
      })}
    </svg>
  );
}

/** A small bar of how much of a column is missing, with the share in its `<title>`. */
export function NullBar({ pct: share, column }: { pct: number; column: string }) {
  const w = 60;
  const filled = Math.round((Math.min(100, Math.max(0, share)) / 100) * w);
  return (
    <svg class="chart null-bar" viewBox={`0 0 ${w} 8`} width={w} height={8} role="img" aria-label={`${share} % of ${column} missing`}>
      <rect x="0" y="0" width={w} height="8" fill="#e4e4e4" />
      <rect class="missing" fill="#b00020" x="0" y="0" width={filled} height="8">
        <title>{`${share} % missing`}</title>
      </rect>
    </svg>
  );
}
