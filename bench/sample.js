// What the bench scripts share: one timed sample of sequential protected calls, and the statistics
// their tables print.
'use strict';

/**
 * One sample: `ops` sequential `await registry.execute(agent, () => 1)` after a warm-up of as many
 * and a GC (with --expose-gc); resolves to ns per call. Throws unless every call was counted a
 * success and the breaker stayed CLOSED. Awaits of settled promises only, all in microtasks, so
 * timers and sockets wait until the loop ends.
 */
async function timeCalls(registry, agent, ops) {
  const work = () => 1;
  const run = async (n) => { for (let i = 0; i < n; i++) await registry.execute(agent, work); };
  await run(ops); // warm-up
  global.gc?.();
  const t0 = process.hrtime.bigint();
  await run(ops);
  const ns = Number(process.hrtime.bigint() - t0) / ops;
  const { calls, state } = registry.status(agent);
  if (calls.successes !== 2 * ops || state !== 'CLOSED') throw new Error(`calls not counted (${calls.successes}, ${state})`);
  return ns;
}

const sorted = (xs) => [...xs].sort((a, b) => a - b);
/** The median (the mean of the two middle values for an even count). */
const median = (xs) => { const s = sorted(xs); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
/** Median, min and max. */
const stat = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });

module.exports = { timeCalls, sorted, median, stat };
