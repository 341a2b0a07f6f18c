#!/usr/bin/env node
// Prometheus exporter benchmarks (lib/resilience/prometheus.js): what an operator needs about a scrape.
// For N = 5 and N = 1,000 agents, each in a fresh child process (subscriptions and heap do not carry
// over): AgentCircuitBreaker({ agents, maxAgents: N }), registerCircuitMetrics({ breakers, fallbacks })
// into a Prometheus-text registry and into an OpenMetrics one with { callDurations: true } (one
// source: they share the call-duration histogram), as the app does.
// 1. Families (`# TYPE` lines), series (sample lines) and bytes of a scrape, text and OpenMetrics,
//    at start (no calls yet) and after every agent made one successful and one failing execute.
// 2. Scrape time: `await registry.metrics()` wall time after a warm-up, R rounds of K scrapes
//    (text and OpenMetrics alternating in each round), the per-round mean; also metricsTable() alone.
// 3. What the call-duration histogram adds to a protected call: N sequential
//    `await registry.execute('amazon', () => 1)` with no exporter, with registerCircuitMetrics(source,
//    registry, { callDurations: true }) (the call:end subscription sends every call through the
//    traced path) and with registerCircuitMetrics(source) (the default: off); a child process per sample (warm-up of N, one timed run of N),
//    R interleaved rounds.
// Usage: node --expose-gc bench/scrape.js [--rounds R] [--ops N] [--smoke] [--write]
//   defaults R = 11, N = 1,000,000, K = 200 (5 agents) / 20 (1,000 agents); --smoke: 1 round,
//   K = 3, 2,000 calls, checks the results are sane, prints one line, writes nothing;
//   --write saves bench/scrape-results.json and the scrape section of BENCHMARKS.md.
'use strict';
const [fs, os, path] = ['fs', 'os', 'path'].map((m) => require(`node:${m}`));
const { execFile } = require('node:child_process');
const { promisify } = require('node:util');
const { timeCalls, median, stat } = require('./sample');

const root = path.resolve(__dirname, '..');
const arg = (name, dflt) => (process.argv.indexOf(name) > 0 ? Number(process.argv[process.argv.indexOf(name) + 1]) : dflt);
const SMOKE = process.argv.includes('--smoke');
const ROUNDS = SMOKE ? 1 : arg('--rounds', 11);
const OPS = SMOKE ? 2_000 : arg('--ops', 1_000_000);
const SIZES = [
  { n: 5, k: SMOKE ? 3 : 200, unit: 'µs' },
  { n: 1000, k: SMOKE ? 3 : 20, unit: 'ms' },
];
const MODES = ['none', 'callDurations', 'noCallDurations'];
const lib = (m) => require(path.join(root, 'lib', 'resilience', m));
let sink = 0;

// ---- children (same file, `--child <kind>`, options in SCRAPE_BENCH); each prints one JSON line ----

/** The agent ids: the app's five marketplace agents, or agent-0000 ... for larger N. */
const agentIds = (n) => (n === 5 ? [...lib('index.js').MARKETPLACE_AGENTS] : Array.from({ length: n }, (_, i) => `agent-${String(i).padStart(4, '0')}`));

/** Families, series (per family too) and bytes of one scrape. */
async function count(registry) {
  const text = await registry.metrics();
  const byFamily = {};
  let family = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) byFamily[(family = line.split(' ')[2])] = 0;
    else if (line && !line.startsWith('#')) byFamily[family]++;
  }
  const series = Object.values(byFamily).reduce((a, b) => a + b, 0);
  return { families: Object.keys(byFamily).length, series, bytes: Buffer.byteLength(text), byFamily };
}

/** 1 and 2 for one agent count. */
async function childScrape({ n, k, rounds }) {
  const { Registry } = require('prom-client');
  const { AgentCircuitBreaker } = lib('index.js');
  const { registerCircuitMetrics, stopCallDurations } = lib('prometheus.js');
  const ids = agentIds(n);
  const breakers = new AgentCircuitBreaker({ agents: ids, maxAgents: n });
  const source = { breakers, fallbacks: () => ({ cached: 0, empty: 0 }) };
  const text = registerCircuitMetrics(source, undefined, { callDurations: true });
  const om = new Registry();
  om.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  registerCircuitMetrics(source, om, { callDurations: true });
  const start = { text: await count(text), openMetrics: await count(om) };

  const ok = () => 1;
  const boom = () => { throw new Error('down'); };
  for (const id of ids) {
    await breakers.execute(id, ok);
    await breakers.execute(id, boom).then(() => { throw new Error('the failing call resolved'); }, () => {});
  }
  const statuses = ids.map((id) => breakers.status(id));
  if (!statuses.every((s) => s.state === 'CLOSED' && s.calls.successes === 1 && s.calls.failures === 1)) throw new Error('calls not counted as expected');
  const after = { text: await count(text), openMetrics: await count(om) };

  // Scrape time, after the calls (the larger scrape). Warm-up: K scrapes of each.
  const timed = async (fn) => {
    global.gc?.();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < k; i++) sink += await fn();
    return Number(process.hrtime.bigint() - t0) / k;
  };
  const kinds = {
    text: async () => (await text.metrics()).length,
    openMetrics: async () => (await om.metrics()).length,
    metricsTable: async () => breakers.metricsTable().values.length,
  };
  for (const fn of Object.values(kinds)) await timed(fn);
  const ns = { text: [], openMetrics: [], metricsTable: [] };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? ['openMetrics', 'text', 'metricsTable'] : ['text', 'openMetrics', 'metricsTable'];
    for (const kind of order) ns[kind].push(await timed(kinds[kind]));
  }
  stopCallDurations(source);
  const mem = process.memoryUsage();
  console.log(JSON.stringify({ n, k, rounds, ids: [ids[0], ids[ids.length - 1]], start, after, ns, heapUsed: mem.heapUsed, rss: mem.rss, sink }));
  process.exit(0);
}

/** 3: one sample of a protected call's cost in one mode. */
async function childCall({ mode, ops }) {
  // Every mode loads the same modules (prom-client, the exporter), so only the registration differs.
  require('prom-client');
  const { registerCircuitMetrics, CALL_DURATION_FAMILY } = lib('prometheus.js');
  const registry = new (lib('index.js').AgentCircuitBreaker)({ agents: ['amazon'] });
  const source = { breakers: registry };
  const prom = mode === 'none' ? null : registerCircuitMetrics(source, undefined, mode === 'callDurations' ? { callDurations: true } : {});
  const ns = await timeCalls(registry, 'amazon', ops);
  // The histogram saw every call (or is not there at all).
  const histogram = prom?.getSingleMetric(CALL_DURATION_FAMILY);
  const observed = histogram ? (await histogram.get()).values.filter((v) => v.metricName.endsWith('_count')).reduce((a, v) => a + v.value, 0) : null;
  if (mode === 'callDurations' && observed !== 2 * ops) throw new Error(`the histogram observed ${observed} calls, not ${2 * ops}`);
  if (mode === 'noCallDurations' && histogram) throw new Error('the default registered the histogram');
  console.log(JSON.stringify({ mode, ns, ops, observed, scrapeBytes: prom ? (await prom.metrics()).length : null }));
  process.exit(0);
}

// ---- parent ----


async function child(kind, opts) {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', __filename, '--child', kind], {
    cwd: root,
    env: { ...process.env, SCRAPE_BENCH: JSON.stringify(opts) },
    maxBuffer: 16 * 2 ** 20,
  });
  return JSON.parse(stdout.trim().split('\n').pop());
}

async function measureScrapes() {
  const raw = {};
  const summary = {};
  for (const { n, k, unit } of SIZES) {
    const s = await child('scrape', { n, k, rounds: ROUNDS });
    raw[n] = s;
    const time = Object.fromEntries(Object.entries(s.ns).map(([kind, xs]) => [kind, stat(xs)]));
    const shape = (x) => ({ families: x.families, series: x.series, bytes: x.bytes });
    summary[n] = {
      agents: n, scrapesPerRound: k, rounds: ROUNDS, unit,
      start: { text: shape(s.start.text), openMetrics: shape(s.start.openMetrics) },
      afterCalls: { text: shape(s.after.text), openMetrics: shape(s.after.openMetrics) },
      seriesPerAgent: { start: s.start.text.series / n, afterCalls: s.after.text.series / n },
      scrapeNs: time,
      textNsPerAgent: time.text.median / n,
    };
    if (!SMOKE) {
      const f = (x) => `${x.median.toFixed(0)} ns [${x.min.toFixed(0)}-${x.max.toFixed(0)}]`;
      process.stderr.write(`${n} agents: series ${s.start.text.series} -> ${s.after.text.series}; text ${f(time.text)}, OpenMetrics ${f(time.openMetrics)}, metricsTable ${f(time.metricsTable)}\n`);
    }
  }
  return { raw, summary };
}

async function measureCalls() {
  const raw = Object.fromEntries(MODES.map((m) => [m, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = MODES.map((_, i) => MODES[(i + r) % MODES.length]); // rotate who goes first
    for (const mode of order) {
      const s = await child('call', { mode, ops: OPS });
      raw[mode].push(s);
      if (!SMOKE) process.stderr.write(`round ${r + 1}/${ROUNDS} ${mode.padEnd(15)}: ${s.ns.toFixed(1)} ns\n`);
    }
  }
  const ns = Object.fromEntries(MODES.map((m) => [m, raw[m].map((s) => s.ns)]));
  const vsNone = (m) => ({ ratioOfMedians: median(ns[m]) / median(ns.none), medianOfRoundRatios: median(ns[m].map((x, i) => x / ns.none[i])) });
  return {
    raw,
    summary: {
      ops: OPS, rounds: ROUNDS,
      none: stat(ns.none),
      callDurations: { ...stat(ns.callDurations), ...vsNone('callDurations') },
      noCallDurations: { ...stat(ns.noCallDurations), ...vsNone('noCallDurations') },
    },
  };
}

/** --smoke: the results make sense (not the figures: too few samples). */
function check(scrape, calls) {
  const problems = [];
  const [a, b] = [scrape.summary[5], scrape.summary[1000]];
  for (const s of [a, b]) {
    for (const when of ['start', 'afterCalls']) {
      for (const type of ['text', 'openMetrics']) {
        const x = s[when][type];
        if (!(x.families > 0 && x.series > 0 && x.bytes > 0)) problems.push(`${s.agents} agents ${when} ${type}: ${JSON.stringify(x)}`);
      }
      if (s[when].text.series !== s[when].openMetrics.series) problems.push(`${s.agents} agents ${when}: text and OpenMetrics series differ`);
    }
    if (!(s.afterCalls.text.series > s.start.text.series)) problems.push(`${s.agents} agents: no new series after calls`);
    if (!Object.values(s.scrapeNs).every((t) => t.median > 0)) problems.push(`${s.agents} agents: a scrape time is not positive`);
  }
  if (a.start.text.families !== b.start.text.families) problems.push('the family count depends on the agent count');
  if (!(b.afterCalls.text.series > a.afterCalls.text.series)) problems.push('1,000 agents do not give more series than 5');
  if (b.seriesPerAgent.afterCalls !== a.seriesPerAgent.afterCalls) problems.push('series per agent differ between 5 and 1,000 agents');
  if (!MODES.every((m) => calls.raw[m].every((s) => s.ns > 0))) problems.push('a call sample is not positive');
  if (problems.length) throw new Error(`scrape bench smoke: ${problems.join('; ')}`);
}

async function main() {
  const cpu = os.cpus()[0].model;
  const command = ['node', ...process.execArgv, path.relative(process.cwd(), __filename), ...process.argv.slice(2)].join(' ');
  const promClient = require('prom-client/package.json').version;
  if (!SMOKE) console.log(`scrape bench: node ${process.version}, ${cpu} x${os.cpus().length}, prom-client ${promClient}`);
  const scrape = await measureScrapes();
  const calls = await measureCalls();
  if (SMOKE) {
    check(scrape, calls);
    const [a, b] = [scrape.summary[5], scrape.summary[1000]];
    console.log(`scrape bench smoke: ${a.afterCalls.text.families} families; series 5 agents ${a.start.text.series} -> ${a.afterCalls.text.series}, 1,000 agents ${b.start.text.series} -> ${b.afterCalls.text.series}; 3 call modes ran, 0 failed`);
    return;
  }
  const out = {
    command, date: new Date().toISOString(), node: process.version, cpu, cores: os.cpus().length, promClient,
    prometheusJsSha1: require('node:crypto').createHash('sha1').update(fs.readFileSync(path.join(root, 'lib', 'resilience', 'prometheus.js'))).digest('hex'),
    loadavg: os.loadavg(),
    options: { rounds: ROUNDS, ops: OPS, scrapesPerRound: Object.fromEntries(SIZES.map((s) => [s.n, s.k])), smoke: SMOKE },
    summary: { scrape: scrape.summary, calls: calls.summary },
    raw: { scrape: scrape.raw, calls: calls.raw },
  };
  print(out);
  if (process.argv.includes('--write')) {
    fs.writeFileSync(path.join(__dirname, 'scrape-results.json'), `${JSON.stringify(out, null, 2)}\n`);
    fs.writeFileSync(path.join(root, 'BENCHMARKS.md'), withSection(fs.existsSync(path.join(root, 'BENCHMARKS.md')) ? fs.readFileSync(path.join(root, 'BENCHMARKS.md'), 'utf8') : '', section(out)));
    console.log('\nwrote bench/scrape-results.json and the scrape section of BENCHMARKS.md');
  }
}

const int = (x) => Math.round(x).toLocaleString('en-US');
const size = (b) => (b < 2 ** 20 ? `${(b / 1024).toFixed(1)} KiB` : `${(b / 2 ** 20).toFixed(2)} MiB`);
/** A scrape time in the size's unit: median [min-max]. */
const time = (x, unit) => {
  const d = unit === 'ms' ? 1e6 : 1e3;
  const p = unit === 'ms' ? 2 : 1;
  return `${(x.median / d).toFixed(p)} ${unit} [${(x.min / d).toFixed(p)}-${(x.max / d).toFixed(p)}]`;
};
const ns = (x) => `${x.median.toFixed(1)} ns [${x.min.toFixed(1)}-${x.max.toFixed(1)}]`;

function print({ summary: { scrape, calls } }) {
  for (const s of Object.values(scrape)) {
    console.log(`\n${s.agents} agents (${s.rounds} rounds x ${s.scrapesPerRound} scrapes, after calls)`);
    for (const type of ['text', 'openMetrics']) {
      const [a, b] = [s.start[type], s.afterCalls[type]];
      console.log(`  ${type.padEnd(11)} families ${b.families}, series ${int(a.series)} -> ${int(b.series)}, ${size(a.bytes)} -> ${size(b.bytes)}; scrape ${time(s.scrapeNs[type], s.unit)}`);
    }
    console.log(`  metricsTable() ${time(s.scrapeNs.metricsTable, s.unit)}; text scrape per agent ${(s.textNsPerAgent / 1e3).toFixed(2)} µs`);
  }
  console.log(`\nprotected call, sequential, ${calls.ops.toLocaleString('en-US')} calls x ${calls.rounds} interleaved rounds; ns per call, median [min-max]`);
  console.log(`  no exporter          ${ns(calls.none)}`);
  console.log(`  callDurations on     ${ns(calls.callDurations)}  ${calls.callDurations.medianOfRoundRatios.toFixed(3)}x (median of per-round ratios)`);
  console.log(`  default (off)        ${ns(calls.noCallDurations)}  ${calls.noCallDurations.medianOfRoundRatios.toFixed(3)}x`);
}

/** The scrape section of BENCHMARKS.md (between its markers; `npm run bench` keeps it). */
function section({ command, date, node, cpu, cores, promClient, options, summary: { scrape, calls } }) {
  const [a, b] = [scrape[5], scrape[1000]];
  const both = (f) => `| ${f(a)} | ${f(b)} |`;
  const pair = (type) => (s) => `${int(s.start[type].series)} / ${int(s.afterCalls[type].series)}`;
  const bytes = (type) => (s) => `${size(s.start[type].bytes)} / ${size(s.afterCalls[type].bytes)}`;
  return [
    '<!-- scrape:start -->',
    '## Metrics scrape (Prometheus exporter)',
    '',
    `Measured by \`${command}\` (\`npm run bench:scrape\`) on ${date.slice(0, 10)}: Node ${node}, ${cpu} x${cores}, prom-client ${promClient}. Raw samples: \`bench/scrape-results.json\`.`,
    '',
    `Each agent count in a fresh child process: \`AgentCircuitBreaker({ agents, maxAgents: N })\` (5: the marketplace agents; 1,000: \`agent-0000\` to \`agent-0999\`), \`registerCircuitMetrics({ breakers, fallbacks })\` into a Prometheus-text registry and an OpenMetrics one (call durations on). "After calls": every agent made one successful and one failing \`execute\`, so the call-duration histogram has two outcomes per agent. Scrape time: \`await registry.metrics()\` after the calls and a warm-up, ${options.rounds} rounds of K scrapes, median [min-max] of the per-round mean.`,
    '',
    '| measure | 5 agents | 1,000 agents |',
    '|---|---|---|',
    `| metric families (\`# TYPE\` lines), text and OpenMetrics ${both((s) => `${s.afterCalls.text.families}`)}`,
    `| series (sample lines), at start / after calls ${both(pair('text'))}`,
    `| series per agent, at start / after calls ${both((s) => `${s.seriesPerAgent.start} / ${s.seriesPerAgent.afterCalls}`)}`,
    `| scrape size, Prometheus text, at start / after calls ${both(bytes('text'))}`,
    `| scrape size, OpenMetrics, at start / after calls (same series) ${both(bytes('openMetrics'))}`,
    `| scrapes per round (K) | ${a.scrapesPerRound} | ${b.scrapesPerRound} |`,
    `| scrape time, Prometheus text (5 agents in µs, 1,000 in ms) ${both((s) => time(s.scrapeNs.text, s.unit))}`,
    `| scrape time, OpenMetrics ${both((s) => time(s.scrapeNs.openMetrics, s.unit))}`,
    `| of which \`metricsTable()\` (the native read, once per scrape) ${both((s) => time(s.scrapeNs.metricsTable, s.unit))}`,
    `| Prometheus text scrape time per agent (median / N) ${both((s) => `${(s.textNsPerAgent / 1e3).toFixed(2)} µs`)}`,
    '',
    `Cost per protected call: sequential \`await registry.execute('amazon', () => 1)\`, ${calls.rounds} interleaved rounds x ${calls.ops.toLocaleString('en-US')} calls, a child process per sample (warm-up, then one timed run).`,
    '',
    '| exporter | ns per call, median [min-max] | vs no exporter (median of per-round ratios) |',
    '|---|---|---|',
    `| none | ${ns(calls.none)} | 1 |`,
    `| \`registerCircuitMetrics(source, registry, { callDurations: true })\`: every call takes the traced path | ${ns(calls.callDurations)} | ${calls.callDurations.medianOfRoundRatios.toFixed(2)}x |`,
    `| \`registerCircuitMetrics(source)\` (call durations off, the default) | ${ns(calls.noCallDurations)} | ${calls.noCallDurations.medianOfRoundRatios.toFixed(2)}x |`,
    '<!-- scrape:end -->',
  ].join('\n');
}

/** Replaces the scrape section of BENCHMARKS.md, or adds it at the end. */
function withSection(old, text) {
  const block = /<!-- scrape:start -->[\s\S]*?<!-- scrape:end -->/;
  if (block.test(old)) return old.replace(block, () => text);
  return old.trim() ? `${old.trimEnd()}\n\n${text}\n` : `${text}\n`;
}

const kind = process.argv.indexOf('--child') > 0 ? process.argv[process.argv.indexOf('--child') + 1] : null;
const opts = kind ? JSON.parse(process.env.SCRAPE_BENCH) : null;
const entry = { scrape: childScrape, call: childCall }[kind] ?? main;
Promise.resolve().then(() => entry(opts)).catch((e) => { console.error(e); process.exit(1); });
