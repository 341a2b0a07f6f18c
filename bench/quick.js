#!/usr/bin/env node
// Quick microbenchmark: ns per protected call, this package against a hand-written JavaScript
// consecutive-failure breaker and the bare function, interleaved in one process; then callAgent's
// cost (in-memory transport) in a child process of its own, so its allocations do not disturb the
// breaker figures.
// Usage: node bench/quick.js [--calls N] [--rounds R]   (callAgent cases run N / 10 calls each)
'use strict';
const { spawnSync } = require('node:child_process');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const CALLS = arg('--calls', 1_000_000);
const ROUNDS = arg('--rounds', 7);
const GROUP = process.argv.includes('--callagent') ? 'callAgent' : 'breaker';

const { JsBreaker } = require('./cases');

/** Runs `call` n times in batches of 1,000 concurrent calls. */
async function concurrent(n, call) {
  const batch = new Array(1000);
  for (let i = 0; i < n; i += 1000) {
    for (let j = 0; j < 1000; j++) batch[j] = call();
    await Promise.all(batch);
  }
}

function breakerGroup() {
  const { CircuitBreaker, AgentCircuitBreaker, MARKETPLACE_AGENTS } = require('..');
  const work = async () => 1;
  const js = new JsBreaker();
  const native = new CircuitBreaker();
  const agent = new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS }).get('amazon');
  const opened = new CircuitBreaker();
  opened.forceOpen();
  const EMPTY = { phases: [] };
  const empty = () => EMPTY;
  const cases = {
    'bare async function': async () => { for (let i = 0; i < CALLS; i++) await work(); },
    'hand-written JS breaker': async () => { for (let i = 0; i < CALLS; i++) await js.execute(work); },
    'CircuitBreaker.execute': async () => { for (let i = 0; i < CALLS; i++) await native.execute(work); },
    'AgentCircuitBreaker agent handle': async () => { for (let i = 0; i < CALLS; i++) await agent.execute(work); },
    'bare, 1000 concurrent': () => concurrent(CALLS, work),
    'JS breaker, 1000 concurrent': () => concurrent(CALLS, () => js.execute(work)),
    'CircuitBreaker, 1000 concurrent': () => concurrent(CALLS, () => native.execute(work)),
    'open circuit: fallback': async () => { for (let i = 0; i < CALLS; i++) await opened.execute(work, empty); },
    'open circuit: rejection (CircuitOpenError)': async () => {
      for (let i = 0; i < CALLS; i += 10) await opened.execute(work).catch(() => EMPTY);
    },
  };
  const check = () => {
    if (native.status().calls.successes < CALLS) throw new Error('benchmark did not count its calls');
  };
  return { cases, perCase: CALLS, check };
}

function callAgentGroup() {
  require('../scripts/ts-register'); // loads the app's TypeScript
  const { AgentLoop } = require('../app/lib/ai/agent-loop.ts');
  const url = 'http://127.0.0.1:9/';
  const env = { AGENT_AMAZON_URL: url, AGENT_MERCADOLIVRE_URL: url, AGENT_SHOPEE_URL: url, AGENT_SHEIN_URL: url, AGENT_TIKTOK_SHOP_URL: url };
  const answer = { status: 200, body: '{"phases":["listing"]}' };
  const options = { env, transport: async () => answer, logger: { info() {}, warn() {} } };
  const loop = new AgentLoop(options);
  const openLoop = new AgentLoop(options);
  const input = { sku: 'B0C1', market: 'br' };
  const n = CALLS / 10;
  const cases = {
    'callAgent, in-memory transport': async () => { for (let i = 0; i < n; i++) await loop.callAgent('amazon', input); },
    'callAgent, open circuit, cached fallback': async () => { for (let i = 0; i < n; i++) await openLoop.callAgent('amazon', input); },
  };
  const setup = async () => {
    await openLoop.callAgent('amazon', input); // a good answer to fall back on
    openLoop.breakers.forceOpen('amazon');
  };
  const check = () => {
    if (openLoop.fallbacksServed('amazon').cached < n) throw new Error('open-circuit case did not serve fallbacks');
  };
  return { cases, perCase: n, check, setup };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };

async function measure({ cases, perCase, check, setup }) {
  if (setup) await setup();
  const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (const run of Object.values(cases)) await run(); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, run] of Object.entries(cases)) {
      const t0 = process.hrtime.bigint();
      await run();
      samples[name].push(Number(process.hrtime.bigint() - t0) / (name.includes('rejection') ? perCase / 10 : perCase));
    }
  }
  check();
  return samples;
}

function report(samples) {
  const base = samples['hand-written JS breaker'] && median(samples['hand-written JS breaker']);
  const baseConcurrent = samples['JS breaker, 1000 concurrent'] && median(samples['JS breaker, 1000 concurrent']);
  for (const [name, xs] of Object.entries(samples)) {
    const m = median(xs);
    const line = `${name.padEnd(42)} ${m.toFixed(1).padStart(8)} [${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)}]`;
    const ref = name.includes('concurrent') ? baseConcurrent : base;
    const ratio = ref && !name.startsWith('open') && !name.startsWith('callAgent') ? `  ${(m / ref).toFixed(2)}x` : '';
    console.log(line + ratio);
  }
}

async function main() {
  if (GROUP === 'callAgent') return report(await measure(callAgentGroup()));
  console.log(`node ${process.version}, ${CALLS} calls per case x ${ROUNDS} interleaved rounds, ns per call: median [min-max]; ratios are to the JS breaker in the same mode`);
  report(await measure(breakerGroup()));
  const child = spawnSync(process.execPath, [__filename, '--callagent', '--calls', String(CALLS), '--rounds', String(ROUNDS)], { stdio: 'inherit' });
  if (child.status !== 0) process.exit(child.status ?? 1);
}
main().catch((e) => { console.error(e); process.exit(1); });
