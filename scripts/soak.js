#!/usr/bin/env node
// Soak: the built app (`next start`) under a loopback load for N minutes while the five simulated
// agents flip at random between ok, fail, hang and slow. Checks, after a warm-up (the first fifth,
// at least 30 s): RSS of the server within +10%, open file descriptors stable, every request
// answered (an analysis or a fallback per agent), and breaker flaps bounded by what the faults
// explain. Prints a JSON summary; exits 1 if a check failed.
// Usage: npm run soak -- --minutes N [--concurrency C]   (N from 1 to 60; run `npm run build:app` first)
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { startAgents, agentEnv, AGENTS } = require('./agent-sim');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const MINUTES = arg('--minutes', 1);
const CONCURRENCY = arg('--concurrency', 8);
if (!(MINUTES >= 1 && MINUTES <= 60)) {
  console.error('--minutes must be between 1 and 60');
  process.exit(2);
}
const OPEN_TIMEOUT_MS = 5_000;
const AGENT_TIMEOUT_MS = 1_000;
const FLIP_EVERY_MS = 5_000;
const SAMPLE_EVERY_MS = 5_000;
const root = path.resolve(__dirname, '..');

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
function post(url, body) {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'POST', agent: keepAlive, headers: { 'content-type': 'application/json' }, timeout: 15_000 }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', (e) => resolve({ status: 0, text: e.message }));
    req.end(body);
  });
}
function get(url) {
  return new Promise((resolve) => {
    http.get(url, { agent: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(text));
    }).on('error', () => resolve(''));
  });
}
const procStat = (pid) => {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)[1]), fds: fs.readdirSync(`/proc/${pid}/fd`).length };
};

async function main() {
  const sim = await startAgents({ slowMs: 300 });
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const base = `http://127.0.0.1:${port}`;
  const server = spawn(process.execPath, [require.resolve('next/dist/bin/next'), 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: root,
    env: { ...process.env, ...agentEnv(sim.urls), CIRCUIT_OPEN_TIMEOUT_MS: String(OPEN_TIMEOUT_MS), AGENT_TIMEOUT_MS: String(AGENT_TIMEOUT_MS) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 300 && !(await get(`${base}/api/marketplace/diagnostics`)); i++) await new Promise((r) => setTimeout(r, 100));

  const start = Date.now();
  const end = start + MINUTES * 60_000;
  const warmupEnd = start + Math.max(30_000, (MINUTES * 60_000) / 5);
  const modes = Object.fromEntries(AGENTS.map((a) => [a, 'ok']));
  const failingSince = {};
  const failingMs = Object.fromEntries(AGENTS.map((a) => [a, 0]));
  const flipsIntoFailure = Object.fromEntries(AGENTS.map((a) => [a, 0]));
  const stats = { requests: 0, answered: 0, unanswered: 0, analyses: 0, fallbacks: 0, byReason: {} };
  const samples = [];

  const flipper = setInterval(() => {
    const agent = AGENTS[Math.floor(Math.random() * AGENTS.length)];
    const mode = ['ok', 'ok', 'fail', 'hang', 'slow'][Math.floor(Math.random() * 5)];
    const failing = (m) => m === 'fail' || m === 'hang';
    if (failing(mode) && !failing(modes[agent])) {
      flipsIntoFailure[agent]++;
      failingSince[agent] = Date.now();
    }
    if (!failing(mode) && failing(modes[agent])) failingMs[agent] += Date.now() - failingSince[agent];
    modes[agent] = mode;
    sim.setMode(agent, mode);
  }, FLIP_EVERY_MS);
  const sampler = setInterval(() => samples.push({ t: Date.now() - start, ...procStat(server.pid) }), SAMPLE_EVERY_MS);

  const client = async () => {
    while (Date.now() < end) {
      stats.requests++;
      const res = await post(`${base}/api/marketplace/analyze`, JSON.stringify({ input: { sku: `sku-${Math.floor(Math.random() * 20)}` } }));
      let results;
      try {
        results = res.status === 200 ? JSON.parse(res.text).results : undefined;
      } catch {
        results = undefined;
      }
      if (!Array.isArray(results) || results.length !== AGENTS.length || results.some((r) => !r.result || !Array.isArray(r.result.phases))) {
        stats.unanswered++;
        continue;
      }
      stats.answered++;
      for (const { result } of results) {
        if (result.fallback) {
          stats.fallbacks++;
          stats.byReason[result.fallbackReason] = (stats.byReason[result.fallbackReason] ?? 0) + 1;
        } else stats.analyses++;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  clearInterval(flipper);
  clearInterval(sampler);
  for (const a of AGENTS) if (modes[a] === 'fail' || modes[a] === 'hang') failingMs[a] += Date.now() - failingSince[a];

  const diagnostics = JSON.parse((await get(`${base}/api/marketplace/diagnostics`)) || '{"agents":{}}');
  server.kill('SIGTERM');
  await sim.close();
  keepAlive.destroy();

  const after = samples.filter((s) => s.t >= warmupEnd - start);
  const baseline = after[0] ?? samples.at(-1);
  const maxRss = Math.max(...after.map((s) => s.rssKb));
  const fds = after.map((s) => s.fds);
  const flaps = {};
  const flapBound = {};
  let flapsOk = true;
  for (const agent of AGENTS) {
    const t = diagnostics.agents[agent]?.metrics?.transitions ?? {};
    flaps[agent] = (t['CLOSED->OPEN'] ?? 0) + (t['HALF_OPEN->OPEN'] ?? 0);
    // Each spell of failure opens the breaker once, then at most once per open timeout (a failed
    // probe, or a probe that hung); a fault that ends while OPEN adds at most one more.
    flapBound[agent] = flipsIntoFailure[agent] * 2 + Math.ceil(failingMs[agent] / OPEN_TIMEOUT_MS) + 1;
    if (flaps[agent] > flapBound[agent]) flapsOk = false;
  }
  const checks = {
    rssWithin10Percent: maxRss <= baseline.rssKb * 1.1,
    fdsStable: Math.max(...fds) - baseline.fds <= 2 * CONCURRENCY + 10,
    everyRequestAnswered: stats.unanswered === 0 && stats.answered > 0,
    flapsBoundedByFaults: flapsOk,
  };
  const summary = {
    minutes: MINUTES,
    concurrency: CONCURRENCY,
    requests: stats.requests,
    requestsPerSecond: Math.round(stats.requests / (MINUTES * 60)),
    answered: stats.answered,
    agentResults: { analyses: stats.analyses, fallbacks: stats.fallbacks, fallbacksByReason: stats.byReason },
    rssKb: { afterWarmup: baseline.rssKb, max: maxRss, end: samples.at(-1).rssKb, growth: `${(((maxRss - baseline.rssKb) / baseline.rssKb) * 100).toFixed(1)} %` },
    openFds: { afterWarmup: baseline.fds, min: Math.min(...fds), max: Math.max(...fds) },
    flaps,
    flapBound,
    checks,
  };
  console.log(JSON.stringify(summary, null, 2));
  process.exit(Object.values(checks).every(Boolean) ? 0 : 1);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
