import { percent } from './format';

const WIDTH = 120;
const HEIGHT = 28;

/** SVG polyline points for ratios 0..1, oldest on the left, 1 at the top. */
function points(ratios: number[], slots: number): string {
  const step = WIDTH / Math.max(1, slots - 1);
  const x0 = WIDTH - step * (ratios.length - 1);
  return ratios.map((r, i) => `${(x0 + i * step).toFixed(1)},${((1 - r) * (HEIGHT - 2) + 1).toFixed(1)}`).join(' ');
}

/**
 * The error-rate ratio over the last polls as an inline SVG line, with the current ratio written
 * next to it (and in the image's accessible name), so the figure never depends on the drawing.
 */
export function Sparkline({ ratios, slots, windowMs }: { ratios: number[]; slots: number; windowMs: number }) {
  const now = ratios.at(-1) ?? 0;
  const label = `error rate ${percent(now)} over the last ${Math.round(windowMs / 1000)} s; line: the last ${ratios.length} readings`;
  return (
    <span className="sparkline">
      <svg role="img" aria-label={label} width={WIDTH} height={HEIGHT} viewBox={`0 0 ${WIDTH} ${HEIGHT}`}>
        <line x1="0" y1={HEIGHT - 1} x2={WIDTH} y2={HEIGHT - 1} className="sparkline-axis" />
        {ratios.length > 1 && <polyline points={points(ratios, slots)} className="sparkline-line" />}
        {ratios.length === 1 && <circle cx={WIDTH - 2} cy={(1 - now) * (HEIGHT - 2) + 1} r="1.5" className="sparkline-dot" />}
      </svg>
      <span className="sparkline-value">{percent(now)}</span>
    </span>
  );
}
