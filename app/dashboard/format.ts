/** Small formatters shared by the cards: wall-clock times in UTC (as the API words them), durations, ratios. */

/** `2024-05-01T09:49:29.123Z` as `09:49:29Z`, the form the diagnostics recommendations use. */
export function hhmmss(iso: string): string {
  return `${iso.slice(11, 19)}Z`;
}

/** A duration in ms as `850 ms`, `12 s`, `4 min 5 s` or `2 h 3 min`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** A ratio 0..1 as a whole percentage, `40 %`. */
export function percent(ratio: number): string {
  return `${Math.round(ratio * 100)} %`;
}

