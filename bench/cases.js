// The benchmark cases. `node bench/cases.js <case> <ops>` runs one case in this (child) process:
// set-up, a warm-up of the same size, then one timed run; prints one JSON line { value, unit }.
// bench/run.js runs every case in a child of its own, several interleaved rounds.
'use strict';

/** The hand-written 10-line breaker a JavaScript developer would write: open on 5 in a row. */
class JsBreaker {
  constructor(threshold = 5, openMs = 60_000) { this.threshold = threshold; this.openMs = openMs; this.failures = 0; this.openedAt = 0; }
  isOpen() { return this.failures >= this.threshold && Date.now() - this.openedAt < this.openMs; }
  async execute(fn, fallback) {
    if (this.isOpen()) { if (fallback) return fallback(); throw new Error('open'); }
    try { const v = await fn(); this.failures = 0; return v; }
    catch (e) { if (++this.failures >= this.threshold) this.openedAt = Date.now(); throw e; }
  }
}

const work = async () => 1;
const EMPTY = { phases: [] };
const empty = () => EMPTY;
const fail = async () => { throw new Error('down'); };

async function sequential(ops, call) { for (let i = 0; i < ops; i++) await call(); }
async function concurrent(ops, call) {
  const batch = new Array(1000);
  for (let i = 0; i < ops; i += 1000) {
    for (let j = 0; j < 1000; j++) batch[j] = call();
    await Promise.all(batch);
  }
}

const pkg = () => require('..');
const opossum = (options) => { const CB = require('opossum'); return new CB(work, options); };
const cockatiel = () => {
  const { circuitBreaker, ConsecutiveBreaker, handleAll } = require('cockatiel');
  return circuitBreaker(handleAll, { halfOpenAfter: 60_000, breaker: new ConsecutiveBreaker(5) });
};
/** cockatiel's breaker behind its 10 s timeout, as its README composes them. */
const cockatielTimed = () => {
  const { wrap, timeout, TimeoutStrategy } = require('cockatiel');
  return wrap(timeout(10_000, TimeoutStrategy.Cooperative), cockatiel());
};
/** This package's breaker while something else in the process subscribes to an unrelated channel. */
const untraced = () => {
  require('node:diagnostics_channel').subscribe('some-other-library:event', () => undefined);
  return new (pkg().CircuitBreaker)();
};
function agentLoop() {
  require('../scripts/ts-register');
  const { AgentLoop } = require('../app/lib/ai/agent-loop.ts');
  const url = 'http://127.0.0.1:9/';
  const env = { AGENT_AMAZON_URL: url, AGENT_MERCADOLIVRE_URL: url, AGENT_SHOPEE_URL: url, AGENT_SHEIN_URL: url, AGENT_TIKTOK_SHOP_URL: url };
  const answer = { status: 200, body: '{"phases":["listing"]}' };
  return new AgentLoop({ env, transport: async () => answer, logger: { info() {}, warn() {} } });
}
const manyAgents = (n) => Array.from({ length: n }, (_, i) => `agent-${i}`);

/** Each protected-call target: makes the function that does one protected call. */
const PROTECTED = {
  'bare async function': () => work,
  'hand-written JS breaker': () => { const b = new JsBreaker(); return () => b.execute(work); },
  'cockatiel 4 ConsecutiveBreaker(5)': () => { const b = cockatiel(); return () => b.execute(work); },
  'cockatiel 4 wrap(timeout 10 s, breaker)': () => { const b = cockatielTimed(); return () => b.execute(work); },
  'opossum 10 defaults (10 s timeout)': () => { const b = opossum(); return () => b.fire(); },
  'opossum 10 timeout: false': () => { const b = opossum({ timeout: false }); return () => b.fire(); },
  'CircuitBreaker.execute': () => { const b = new (pkg().CircuitBreaker)(); return () => b.execute(work); },
  'CircuitBreaker.execute with { signal }': () => { const b = new (pkg().CircuitBreaker)(); const signal = new AbortController().signal; return () => b.execute(work, { signal }); },
  'CircuitBreaker.execute with { timeoutMs: 10000 }': () => { const b = new (pkg().CircuitBreaker)(); return () => b.execute(work, { timeoutMs: 10_000 }); },
  'CircuitBreaker.execute with { timeoutMs: 10000 }, fn takes its signal': () => {
    const b = new (pkg().CircuitBreaker)();
    const withSignal = async (signal) => (signal.aborted ? 0 : 1);
    return () => b.execute(withSignal, { timeoutMs: 10_000 });
  },
  'CircuitBreaker.execute, diagnostics_channel loaded, no subscriber': () => { const b = untraced(); return () => b.execute(work); },
  'CircuitBreaker.execute, a call:end subscriber': () => {
    require('node:diagnostics_channel').subscribe('agent-circuit-breaker:call:end', () => undefined);
    const b = new (pkg().CircuitBreaker)();
    return () => b.execute(work);
  },
  'AgentCircuitBreaker agent handle': () => { const p = pkg(); const b = new p.AgentCircuitBreaker({ agents: p.MARKETPLACE_AGENTS }).get('amazon'); return () => b.execute(work); },
  'callAgent, in-memory transport': () => { const l = agentLoop(); const input = { sku: 'B0C1' }; return () => l.callAgent('amazon', input); },
};

/** Every case: { unit, run(ops) → value }. Time cases return ns per op. */
const CASES = {};
for (const [name, make] of Object.entries(PROTECTED)) {
  const slow = name.startsWith('callAgent') ? 10 : 1;
  CASES[`protected call, sequential: ${name}`] = { unit: 'ns', scale: slow, make: () => { const f = make(); return (ops) => sequential(ops, f); } };
  CASES[`protected call, 1000 concurrent: ${name}`] = { unit: 'ns', scale: slow, make: () => { const f = make(); return (ops) => concurrent(ops, f); } };
}

CASES['open circuit: hand-written JS breaker, fallback'] = { unit: 'ns', make: () => {
  const b = new JsBreaker(); b.failures = 5; b.openedAt = Date.now();
  return (ops) => sequential(ops, () => b.execute(work, empty));
} };
CASES['open circuit: this package, fallback'] = { unit: 'ns', make: () => {
  const b = new (pkg().CircuitBreaker)(); b.forceOpen();
  return (ops) => sequential(ops, () => b.execute(work, empty));
} };
CASES['open circuit: this package, rejection (CircuitOpenError)'] = { unit: 'ns', scale: 10, make: () => {
  const b = new (pkg().CircuitBreaker)(); b.forceOpen();
  return (ops) => sequential(ops, () => b.execute(work).catch(() => EMPTY));
} };
CASES['open circuit: opossum 10 fallback'] = { unit: 'ns', scale: 10, make: () => {
  const b = opossum({ timeout: false }); b.fallback(empty); b.open();
  return (ops) => sequential(ops, () => b.fire());
} };
CASES['open circuit: cockatiel 4 rejection'] = { unit: 'ns', scale: 10, make: () => {
  const b = cockatiel(); b.isolate();
  return (ops) => sequential(ops, () => b.execute(work).catch(() => EMPTY));
} };
CASES['open circuit: callAgent, cached fallback'] = { unit: 'ns', scale: 10, make: () => {
  const l = agentLoop(); const input = { sku: 'B0C1' };
  let ready = l.callAgent('amazon', input).then(() => l.breakers.forceOpen('amazon'));
  return async (ops) => { await ready; await sequential(ops, () => l.callAgent('amazon', input)); };
} };

let sink = 0;
CASES['state check: hand-written JS breaker'] = { unit: 'ns', make: () => {
  const b = new JsBreaker();
  return async (ops) => { for (let i = 0; i < ops; i++) sink += b.isOpen() ? 1 : 0; };
} };
CASES['state check: CircuitBreaker.state'] = { unit: 'ns', make: () => {
  const b = new (pkg().CircuitBreaker)();
  return async (ops) => { for (let i = 0; i < ops; i++) sink += b.state === 'OPEN' ? 1 : 0; };
} };
CASES['state check: CircuitBreaker.state while OPEN'] = { unit: 'ns', make: () => {
  const b = new (pkg().CircuitBreaker)(); b.forceOpen();
  return async (ops) => { for (let i = 0; i < ops; i++) sink += b.state === 'OPEN' ? 1 : 0; };
} };

for (const n of [5, 10_000]) {
  const scale = n === 5 ? 1_000 : 1_000_000;
  CASES[`status: statusAll() of ${n} agents`] = { unit: 'ns', scale, make: () => {
    const r = new (pkg().AgentCircuitBreaker)({ agents: manyAgents(n), maxAgents: n });
    return async (ops) => { for (let i = 0; i < ops; i++) sink += r.statusAll().length; };
  } };
  CASES[`status: metricsTable() of ${n} agents`] = { unit: 'ns', scale: scale / 10, make: () => {
    const r = new (pkg().AgentCircuitBreaker)({ agents: manyAgents(n), maxAgents: n });
    return async (ops) => { for (let i = 0; i < ops; i++) sink += r.metricsTable().values.length; };
  } };
}
CASES['status: Prometheus scrape of 5 agents'] = { unit: 'ns', scale: 1_000, make: () => {
  require('../scripts/ts-register');
  const { registerCircuitMetrics } = require('../lib/resilience/prometheus.ts');
  const r = new (pkg().AgentCircuitBreaker)({ agents: pkg().MARKETPLACE_AGENTS });
  // The default: no call-duration histogram (its subscription would trace every call of the later cases).
  const registry = registerCircuitMetrics({ breakers: r });
  return async (ops) => { for (let i = 0; i < ops; i++) sink += (await registry.metrics()).length; };
} };

CASES['memory: RSS per breaker (10,000 agents added)'] = { unit: 'bytes', once: true, make: () => async () => {
  const { AgentCircuitBreaker } = pkg();
  const ids = manyAgents(10_000); // the caller's strings, not the breakers' cost
  global.gc(); const before = process.memoryUsage().rss;
  const r = new AgentCircuitBreaker({ agents: ids, maxAgents: 10_000 });
  global.gc(); const after = process.memoryUsage().rss;
  sink += r.agents().length;
  return (after - before) / 10_000;
} };
CASES['memory: RSS growth from 1M to 10M protected calls'] = { unit: '%', once: true, make: () => async () => {
  const b = new (pkg().CircuitBreaker)();
  const f = () => b.execute(work);
  await sequential(1_000_000, f);
  global.gc(); const warm = process.memoryUsage().rss;
  await sequential(9_000_000, f);
  global.gc(); const end = process.memoryUsage().rss;
  if (b.status().calls.successes !== 10_000_000) throw new Error('calls were not counted');
  return ((end - warm) / warm) * 100;
} };

module.exports = { CASES, JsBreaker };

if (require.main === module) {
  const [name, opsArg] = process.argv.slice(2);
  const spec = CASES[name];
  if (!spec) { console.error(`unknown case ${name}`); process.exit(2); }
  (async () => {
    const run = spec.make();
    if (spec.once) return console.log(JSON.stringify({ value: await run(), unit: spec.unit, sink }));
    const ops = Math.max(1, Math.floor(Number(opsArg) / (spec.scale ?? 1)));
    await run(ops); // warm-up
    const t0 = process.hrtime.bigint();
    await run(ops);
    const ns = Number(process.hrtime.bigint() - t0) / ops;
    console.log(JSON.stringify({ value: ns, unit: spec.unit, ops, sink }));
  })().catch((e) => { console.error(e); process.exit(1); });
}
