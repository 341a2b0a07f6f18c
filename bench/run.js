#!/usr/bin/env node
// `npm run bench`: runs every case of bench/cases.js in a child process of its own, several
// interleaved rounds, and the Rust criterion benches; writes BENCHMARKS.md (median [min-max], each
// figure with its ratio to the hand-written JavaScript breaker measured in the same run, and the
// targets met or missed).
// Options: --rounds R (default 7), --ops N (default 1,000,000 calls per sample), --smoke (one round,
// few calls, no criterion, writes nothing: CI's check that the benchmarks still run).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const { CASES } = require('./cases');

const root = path.resolve(__dirname, '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SMOKE = process.argv.includes('--smoke');
const ROUNDS = SMOKE ? 1 : arg('--rounds', 7);
const OPS = SMOKE ? 2_000 : arg('--ops', 1_000_000);
const COMMAND = 'npm run bench';

function runCase(name) {
  const child = spawnSync(process.execPath, ['--expose-gc', path.join(__dirname, 'cases.js'), name, String(OPS)], {
    encoding: 'utf8',
    cwd: root,
    env: { ...process.env, ...(SMOKE ? { BENCH_SMOKE: '1' } : {}) },
  });
  if (child.status !== 0) throw new Error(`case "${name}" failed:\n${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').pop());
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function measureNode() {
  const names = Object.keys(CASES).filter((n) => !(SMOKE && CASES[n].once && n.includes('10M')));
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  const units = {};
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of names) {
      const { value, unit } = runCase(name);
      samples[name].push(value);
      units[name] = unit;
      if (!SMOKE) process.stderr.write(`round ${r + 1}/${ROUNDS} ${name}: ${value.toFixed(1)} ${unit}\n`);
    }
  }
  return { samples, units };
}

/** Criterion's median estimates, in ns, by bench id (from target/criterion/.../estimates.json). */
function measureRust() {
  // Results of benches that no longer exist would otherwise be read back as current figures.
  fs.rmSync(path.join(root, 'target', 'criterion'), { recursive: true, force: true });
  execFileSync('cargo', ['bench', '--no-default-features', '--bench', 'core', '--', '--warm-up-time', '1', '--measurement-time', '3'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const out = {};
  const base = path.join(root, 'target', 'criterion');
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory() && e.name === 'new' && fs.existsSync(path.join(p, 'estimates.json'))) {
        const bench = JSON.parse(fs.readFileSync(path.join(p, 'benchmark.json'), 'utf8'));
        const est = JSON.parse(fs.readFileSync(path.join(p, 'estimates.json'), 'utf8')).median;
        out[bench.full_id] = { median: est.point_estimate, low: est.confidence_interval.lower_bound, high: est.confidence_interval.upper_bound };
      } else if (e.isDirectory() && e.name !== 'report') walk(p);
    }
  };
  walk(base);
  return out;
}

const fmt = (v, unit) => {
  if (unit === '%') return `${v.toFixed(2)} %`;
  if (unit === 'bytes') return `${Math.round(v).toLocaleString('en-US')} B`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} ms`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(1)} µs`;
  return `${v.toFixed(1)} ns`;
};

/** The JS-breaker figure each case is compared with. */
function reference(name) {
  if (name.startsWith('protected call, sequential')) return 'protected call, sequential: hand-written JS breaker';
  if (name.startsWith('protected call, 1000 concurrent')) return 'protected call, 1000 concurrent: hand-written JS breaker';
  if (name.startsWith('open circuit')) return 'open circuit: hand-written JS breaker, fallback';
  if (name.startsWith('state check')) return 'state check: hand-written JS breaker';
  return null;
}

const TARGETS = [
  ['protected call, sequential: CircuitBreaker.execute', 'ratio', 1.0, '≤ 1.0x the hand-written JS breaker'],
  ['protected call, 1000 concurrent: CircuitBreaker.execute', 'ratio', 1.0, '≤ 1.0x the hand-written JS breaker'],
  ['protected call, sequential: CircuitBreaker.execute with { signal }', 'vs:protected call, sequential: CircuitBreaker.execute', 1.2, '≤ 1.2x CircuitBreaker.execute (median of the per-round ratios)'],
  ['protected call, sequential: CircuitBreaker.execute, diagnostics_channel loaded, no subscriber', 'vs:protected call, sequential: CircuitBreaker.execute', 1.05, '≤ 1.05x CircuitBreaker.execute (median of the per-round ratios)'],
  ['open circuit: this package, fallback', 'value', 150, '≤ 150 ns'],
  ['state check: CircuitBreaker.state', 'value', 20, '≤ 20 ns'],
  ['status: statusAll() of 5 agents', 'value', 20_000, '≤ 20 µs'],
  ['status: metricsTable() of 10000 agents', 'value', 5_000_000, '≤ 5 ms'],
  ['memory: RSS per breaker (10,000 agents added)', 'value', 1024, '≤ 1 KiB'],
];

function tool(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function report({ samples, units }, rust) {
  const med = Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, median(xs)]));
  const ratio = (name) => (reference(name) ? med[name] / med[reference(name)] : null);
  const version = (p) => JSON.parse(fs.readFileSync(require.resolve(`${p}/package.json`, { paths: [root] }), 'utf8')).version;
  const lines = [];
  lines.push('# Benchmarks', '');
  lines.push(`Generated by \`${COMMAND}\` (bench/run.js) on ${new Date().toISOString().slice(0, 10)}; do not edit by hand.`, '');
  lines.push(`- Machine: ${os.cpus()[0].model}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}`);
  lines.push(`- Node ${process.version}, ${tool('rustc', ['--version'])}`);
  lines.push(`- agent-circuit-breaker ${version('.')}, opossum ${version('opossum')}, cockatiel ${version('cockatiel')}, prom-client ${version('prom-client')}`);
  lines.push(`- Each Node case runs in a child process of its own (warm-up, then one timed run of ${OPS.toLocaleString('en-US')} calls, fewer for the slow cases), ${ROUNDS} interleaved rounds; figures are median [min-max] over the rounds. The protected function is \`async () => 1\`.`);
  lines.push('- Ratios compare with the hand-written 10-line JavaScript consecutive breaker (bench/cases.js) measured in the same run, in the same mode.', '');
  lines.push('## Targets', '', '| figure | target | measured | met |', '|---|---|---|---|');
  for (const [name, kind, limit, text] of TARGETS) {
    if (!(name in med)) continue;
    const base = kind.startsWith('vs:') ? kind.slice(3) : null;
    if (base !== null && !(base in med)) continue;
    // Against another case of this package: the median of the per-round ratios (the rounds are
    // interleaved, so each pair ran under the same conditions).
    const paired = () => median(samples[name].map((x, i) => x / samples[base][i]));
    const v = kind === 'ratio' ? ratio(name) : base !== null ? paired() : med[name];
    const shown = kind === 'value' ? fmt(v, units[name]) : `${v.toFixed(2)}x (${fmt(med[name], units[name])})`;
    lines.push(`| ${name} | ${text} | ${shown} | ${v <= limit ? 'yes' : '**no**'} |`);
  }
  lines.push('', '## Node', '', '| case | median [min-max] | vs JS breaker |', '|---|---|---|');
  for (const [name, xs] of Object.entries(samples)) {
    const r = ratio(name);
    const spread = `${fmt(med[name], units[name])} [${fmt(Math.min(...xs), units[name])} - ${fmt(Math.max(...xs), units[name])}]`;
    lines.push(`| ${name} | ${spread} | ${r === null ? '' : `${r.toFixed(2)}x`} |`);
  }
  if (rust) {
    lines.push('', '## Rust core (criterion, `cargo bench --no-default-features --bench core`)', '');
    lines.push('| bench | median [95% CI] |', '|---|---|');
    for (const [id, e] of Object.entries(rust)) lines.push(`| ${id} | ${fmt(e.median, 'ns')} [${fmt(e.low, 'ns')} - ${fmt(e.high, 'ns')}] |`);
  }
  lines.push('', '## Notes', '');
  lines.push(...fs.readFileSync(path.join(__dirname, 'notes.md'), 'utf8').trimEnd().split('\n'));
  return `${lines.join('\n')}\n`;
}

function main() {
  const node = measureNode();
  if (SMOKE) {
    const n = Object.keys(node.samples).length;
    console.log(`bench smoke: ${n} cases ran, 0 failed`);
    return;
  }
  const rust = measureRust();
  // The fleet and scrape sections are written by bench/fleet.js (npm run bench:fleet) and
  // bench/scrape.js (npm run bench:scrape): keep them, in that order, after the report.
  const file = path.join(root, 'BENCHMARKS.md');
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const kept = ['fleet', 'scrape'].map((k) => new RegExp(`<!-- ${k}:start -->[\\s\\S]*?<!-- ${k}:end -->`).exec(old)?.[0]).filter(Boolean);
  fs.writeFileSync(file, `${[report(node, rust).trimEnd(), ...kept].join('\n\n')}\n`);
  console.log('wrote BENCHMARKS.md');
}
main();
