#!/usr/bin/env node
// Quick microbenchmark: ns per protected call, this package against a hand-written JavaScript
// consecutive-failure breaker and the bare function, measured in the same process, interleaved.
// Usage: node bench/quick.js [--calls N] [--rounds R]
'use strict';
const { CircuitBreaker, AgentCircuitBreaker } = require('..');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const CALLS = arg('--calls', 1_000_000);
const ROUNDS = arg('--rounds', 7);

/** The hand-written 10-line breaker a JavaScript developer would write: open on 5 in a row. */
class JsBreaker {
  constructor(threshold = 5, openMs = 60_000) { this.threshold = threshold; this.openMs = openMs; this.failures = 0; this.openedAt = 0; }
  async execute(fn) {
    if (this.failures >= this.threshold && Date.now() - this.openedAt < this.openMs) throw new Error('open');
    try { const v = await fn(); this.failures = 0; return v; }
    catch (e) { if (++this.failures >= this.threshold) this.openedAt = Date.now(); throw e; }
  }
}

const work = async () => 1;
const js = new JsBreaker();
const native = new CircuitBreaker();
const agent = new AgentCircuitBreaker().get('amazon');

const opened = new CircuitBreaker();
opened.forceOpen();
const empty = () => EMPTY;
const EMPTY = { phases: [] };

/** Runs `call` CALLS times in batches of 1,000 concurrent calls. */
async function concurrent(call) {
  const batch = new Array(1000);
  for (let i = 0; i < CALLS; i += 1000) {
    for (let j = 0; j < 1000; j++) batch[j] = call();
    await Promise.all(batch);
  }
}

const cases = {
  'bare async function': async () => { for (let i = 0; i < CALLS; i++) await work(); },
  'hand-written JS breaker': async () => { for (let i = 0; i < CALLS; i++) await js.execute(work); },
  'CircuitBreaker.execute': async () => { for (let i = 0; i < CALLS; i++) await native.execute(work); },
  'AgentCircuitBreaker agent handle': async () => { for (let i = 0; i < CALLS; i++) await agent.execute(work); },
  'bare, 1000 concurrent': () => concurrent(work),
  'JS breaker, 1000 concurrent': () => concurrent(() => js.execute(work)),
  'CircuitBreaker, 1000 concurrent': () => concurrent(() => native.execute(work)),
  'open circuit: fallback': async () => { for (let i = 0; i < CALLS; i++) await opened.execute(work, empty); },
};

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };

async function main() {
  const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (const run of Object.values(cases)) await run(); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, run] of Object.entries(cases)) {
      const t0 = process.hrtime.bigint();
      await run();
      samples[name].push(Number(process.hrtime.bigint() - t0) / CALLS);
    }
  }
  const base = median(samples['hand-written JS breaker']);
  const baseConcurrent = median(samples['JS breaker, 1000 concurrent']);
  console.log(`node ${process.version}, ${CALLS} calls per case x ${ROUNDS} interleaved rounds, ns per call: median [min-max]; ratios are to the JS breaker in the same mode`);
  for (const [name, xs] of Object.entries(samples)) {
    const m = median(xs);
    const line = `${name.padEnd(34)} ${m.toFixed(1).padStart(7)} [${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)}]`;
    const ref = name.includes('concurrent') ? baseConcurrent : base;
    console.log(`${line}  ${(m / ref).toFixed(2)}x`);
  }
  const s = native.status();
  if (s.calls.successes + 0 < 1) throw new Error('benchmark did not count its calls');
}
main();
