#!/usr/bin/env node
// Fleet sync benchmarks (lib/resilience/fleet.js), against a redis-server this script starts on a
// free loopback port (no persistence) and stops at the end; three measurements in one run:
// 1. Protected call cost, fleet on vs off: N sequential `await registry.execute('amazon', () => 1)`
//    (AgentCircuitBreaker, agents ['amazon']), a child process per sample (warm-up of N, one timed
//    run of N), R interleaved rounds; "on" = attachFleet to the redis-server, ready first.
// 2. Redis commands at steady state: 3 registries, each with its own attachFleet (own instanceId,
//    same prefix, syncIntervalMs 1000), in ONE child process, N protected calls in total paced over
//    20 s (smoke 3 s); INFO commandstats after CONFIG RESETSTAT and after (admin commands excluded).
// 3. Propagation latency: 3 instances in 3 forked children; one (in turn) trips (5 failing calls),
//    the others time `remote_open`; it resets, they time `remote_close`; 200 times. Latency =
//    receiver's Date.now() at its transition - tripper's at its own (also a sub-ms wall clock).
// Usage: node --expose-gc bench/fleet.js [--rounds R] [--ops N] [--smoke] [--write]
//   defaults R = 11, N = 1,000,000; --smoke: 1 round, 2,000 calls, a 3 s window, 5 trips;
//   --write saves bench/fleet-results.json (raw samples, summary, command, date, machine).
'use strict';
const [fs, os, net, path] = ['fs', 'os', 'net', 'path'].map((m) => require(`node:${m}`));
const { once } = require('node:events');
const { performance } = require('node:perf_hooks');
const { fork, execFile } = require('node:child_process');
const { promisify } = require('node:util');
const { startRedisServer } = require('../scripts/redis-server');
const { timeCalls, sorted, median, stat } = require('./sample');

const root = path.resolve(__dirname, '..');
const arg = (name, dflt) => (process.argv.indexOf(name) > 0 ? Number(process.argv[process.argv.indexOf(name) + 1]) : dflt);
const SMOKE = process.argv.includes('--smoke');
const ROUNDS = SMOKE ? 1 : arg('--rounds', 11);
const OPS = SMOKE ? 2_000 : arg('--ops', 1_000_000);
const WINDOW_MS = SMOKE ? 3_000 : 20_000;
const TRIPS = SMOKE ? 5 : 200;
const [INSTANCES, SYNC_MS] = [3, 1000];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const lib = (m) => require(path.join(root, 'lib', 'resilience', m));
const fleetOptions = (url, prefix, instanceId) => ({ redis: url, prefix: `bench-fleet:${prefix}:`, instanceId, syncIntervalMs: SYNC_MS });

// ---- children (same file, `--child <kind>`, options in FLEET_BENCH) ----

/** 1: one sample, fleet on or off; prints { ns, ... } as its last line. */
async function childCall({ on, url, ops }) {
  // Both modes load the same modules: loading ioredis alone grows V8's young generation, which
  // makes fewer scavenges in the loop (about 255 against 700 without it) and flatters "on".
  const { attachFleet } = lib('fleet.js');
  require('ioredis');
  const registry = new (lib('index.js').AgentCircuitBreaker)({ agents: ['amazon'] });
  const fleet = on ? attachFleet(registry, fleetOptions(url, 'call', `call-${process.pid}`)) : null;
  await fleet?.ready();
  if (fleet && !fleet.status().connected) throw new Error('fleet sync did not connect');
  await sleep(300); // both modes: start-up settles (on: the syncs of each connection's 'ready' end)
  // The fleet's timers and sockets wait until the loop ends: only what attachFleet changes on the call path is measured.
  const ns = await timeCalls(registry, 'amazon', ops);
  const st = fleet?.status(); // after the timed loop: did the link stay up?
  await fleet?.close();
  console.log(JSON.stringify({ ns, ops, connected: st?.connected ?? null, syncErrors: st?.syncErrors ?? null }));
  process.exit(0);
}

/** 2: three instances in this process; 'ready' -> parent resets stats -> 'go' -> paced calls -> 'done'. */
async function childSteady({ url, ops, windowMs }) {
  const { AgentCircuitBreaker } = lib('index.js');
  const regs = Array.from({ length: INSTANCES }, () => new AgentCircuitBreaker({ agents: ['amazon'] }));
  let transitions = 0; // must stay 0: no trips
  regs.forEach((r) => r.onTransition(() => transitions++));
  const fleets = regs.map((r, i) => lib('fleet.js').attachFleet(r, fleetOptions(url, 'steady', `steady-${i}`)));
  await Promise.all(fleets.map((f) => f.ready())).then(() => sleep(300));
  process.send({ type: 'ready', connected: fleets.map((f) => f.status().connected) });
  await once(process, 'message');
  const work = () => 1;
  const t0 = performance.now();
  let done = 0;
  while (done < ops) {
    for (const r of regs) for (let i = 0; i < 1000 && done < ops; i++, done++) await r.execute('amazon', work);
    await sleep(Math.max(0, t0 + (done / ops) * windowMs - performance.now()));
  }
  const calls = regs.reduce((n, r) => n + r.status('amazon').calls.successes, 0);
  const fleet = fleets.map((f) => f.status()).map(({ connected, syncErrors, instancesSeen }) => ({ connected, syncErrors, instancesSeen }));
  process.send({ type: 'done', calls, transitions, fleet, elapsedMs: performance.now() - t0 });
  await once(process, 'message');
  await Promise.all(fleets.map((f) => f.close()));
  process.exit(0);
}

/** 3: one instance; reports every transition with its wall time; trips or resets on request. */
function childWorker({ url, id }) {
  const registry = new (lib('index.js').AgentCircuitBreaker)({ agents: ['amazon'] });
  // Subscribed before attachFleet, so a local transition is timed before the fleet publishes it.
  registry.onTransition((e) => {
    const hr = performance.timeOrigin + performance.now();
    process.send({ type: 'transition', reason: e.reason, to: e.to, at: Date.now(), hr });
  });
  const fleet = lib('fleet.js').attachFleet(registry, fleetOptions(url, 'prop', id));
  const boom = () => { throw new Error('down'); };
  process.on('message', async ({ cmd }) => {
    if (cmd === 'trip') for (let i = 0; i < 5; i++) await registry.execute('amazon', boom).catch(() => {});
    else if (cmd === 'reset') registry.reset('amazon');
    else if (cmd === 'close') { await fleet.close(); process.exit(0); }
  });
  fleet.ready().then(() => process.send({ type: 'ready', connected: fleet.status().connected }));
}

// ---- parent ----

const pct = (xs, p) => sorted(xs)[Math.max(0, Math.ceil(p * xs.length) - 1)]; // nearest rank
const env = (o) => ({ ...process.env, FLEET_BENCH: JSON.stringify(o) });

async function startRedis() {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  const proc = await startRedisServer(port);
  process.on('exit', () => proc.kill());
  return { proc, port, url: `redis://127.0.0.1:${port}` };
}

/** One sample of measurement 1 in a child process of its own (as bench/run.js runCase). */
async function callSample(on, url) {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', __filename, '--child', 'call'], { cwd: root, env: env({ on, url, ops: OPS }) });
  return JSON.parse(stdout.trim().split('\n').pop());
}

async function measureCalls(url) {
  const raw = { off: [], on: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const on of r % 2 ? [true, false] : [false, true]) {
      const s = await callSample(on, url);
      raw[on ? 'on' : 'off'].push(s);
      if (on && (!s.connected || s.syncErrors)) process.stderr.write(`warning: fleet sample connected=${s.connected} syncErrors=${s.syncErrors}\n`);
      if (!SMOKE) process.stderr.write(`round ${r + 1}/${ROUNDS} fleet ${on ? 'on ' : 'off'}: ${s.ns.toFixed(1)} ns\n`);
    }
  }
  const [off, on] = [raw.off.map((s) => s.ns), raw.on.map((s) => s.ns)];
  return { raw, summary: { off: stat(off), on: stat(on), ratioOfMedians: median(on) / median(off), medianOfRoundRatios: median(on.map((x, i) => x / off[i])), target: 1.05 } };
}

/** INFO commandstats as { command: calls }. */
const commandstats = async (admin) => Object.fromEntries([...(await admin.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1], Number(m[2])]));
// Commands the fleet's Lua scripts run inside Redis (counted by commandstats, but no round trip).
const IN_SCRIPT = new Set(['time', 'hmget', 'hset', 'get', 'set', 'del', 'incr', 'pexpire', 'zadd', 'zremrangebyscore', 'zcard', 'publish', 'spublish']);

async function measureSteady(url, admin) {
  const child = fork(__filename, ['--child', 'steady'], { cwd: root, env: env({ url, ops: OPS, windowMs: WINDOW_MS }) });
  const exited = once(child, 'exit');
  const [ready] = await once(child, 'message');
  if (!ready.connected.every(Boolean)) throw new Error('steady: an instance did not connect');
  await admin.config('RESETSTAT');
  const before = await commandstats(admin); // the admin's INFO above counts after it ran: subtracted below
  const t0 = performance.now();
  child.send('go');
  const [done] = await once(child, 'message');
  const after = await commandstats(admin);
  const durationS = (performance.now() - t0) / 1000;
  child.send('close');
  await exited;
  const adminExcluded = { info: 1 }; // the admin's own commands between the two reads
  const byCommand = Object.fromEntries(Object.entries(after).map(([c, n]) => [c, n - (before[c] ?? 0) - (adminExcluded[c] ?? 0)]).filter(([, n]) => n));
  const sum = (pred) => Object.entries(byCommand).filter(([c]) => pred(c)).reduce((a, [, n]) => a + n, 0);
  const total = sum(() => true);
  const roundTrips = sum((c) => !IN_SCRIPT.has(c));
  const summary = {
    instances: INSTANCES, syncIntervalMs: SYNC_MS, processes: 1, protectedCalls: done.calls, transitions: done.transitions, durationS,
    totalCommands: total, commandsPerSecond: total / durationS, roundTrips, roundTripsPerSecond: roundTrips / durationS,
    expectedRoundTripsPerSecond: INSTANCES * (1000 / SYNC_MS), commandsPerProtectedCall: total / done.calls, byCommand, adminExcluded,
  };
  return { raw: { before, after, child: done }, summary };
}

async function measurePropagation(url, admin) {
  let [log, wake] = [[], () => {}];
  const workers = Array.from({ length: INSTANCES }, (_, i) => fork(__filename, ['--child', 'worker'], { cwd: root, env: env({ url, id: `prop-${i}` }) }));
  const ready = workers.map((w) => new Promise((resolve) => w.once('message', resolve)));
  workers.forEach((w, i) => w.on('message', (m) => { if (m.type === 'transition') { log.push({ w: i, ...m }); wake(); } }));
  if (!(await Promise.all(ready)).every((m) => m.connected)) throw new Error('propagation: a worker did not connect');
  const until = async (cond, end = Date.now() + 5000) => {
    for (; !cond(); await new Promise((r) => { wake = r; setTimeout(r, 50); })) if (Date.now() > end) throw new Error(`propagation timed out: ${JSON.stringify(log)}`);
  };
  const samples = [];
  for (let k = 0; k < TRIPS; k++) {
    const t = k % INSTANCES;
    for (const [cmd, localReason, remoteReason] of [['trip', 'failure_threshold', 'remote_open'], ['reset', 'reset', 'remote_close']]) {
      log.length = 0;
      workers[t].send({ cmd });
      const local = () => log.find((e) => e.w === t && e.reason === localReason);
      const remote = () => log.filter((e) => e.w !== t && e.reason === remoteReason);
      await until(() => local() && remote().length === INSTANCES - 1);
      for (const e of remote()) samples.push({ trip: k, kind: remoteReason, from: t, to: e.w, ms: e.at - local().at, hrMs: e.hr - local().hr });
    }
  }
  // Instances still subscribed to the agent's channel (fleet.ts's key layout); one that is not
  // hears of transitions only from the reconcile loop, up to syncIntervalMs late.
  const [, subscribed] = await admin.call('PUBSUB', 'SHARDNUMSUB', 'bench-fleet:prop:{amazon}:events');
  for (const w of workers) w.send({ cmd: 'close' });
  await Promise.all(workers.map((w) => once(w, 'exit')));
  const percentiles = (xs) => ({ n: xs.length, p50: pct(xs, 0.5), p99: pct(xs, 0.99), max: Math.max(...xs) });
  const of = (kind, key) => samples.filter((s) => !kind || s.kind === kind).map((s) => s[key]);
  const late = samples.filter((x) => x.hrMs > SYNC_MS / 2).map((x) => `prop-${x.to}`);
  const summary = { subscribedAtEnd: `${subscribed}/${INSTANCES}`, lateOverHalfInterval: late.length, lateReceivers: [...new Set(late)] };
  for (const kind of ['remote_open', 'remote_close', null]) summary[kind ?? 'all'] = { dateNow: percentiles(of(kind, 'ms')), wallClock: percentiles(of(kind, 'hrMs')) };
  return { raw: samples, summary };
}

async function main() {
  const redis = await startRedis();
  const admin = new (require('ioredis'))(redis.url); // the bench's own admin connection
  const version = /redis_version:(\S+)/.exec(await admin.info('server'))[1];
  const cpu = os.cpus()[0].model;
  const command = ['node', ...process.execArgv, path.relative(process.cwd(), __filename), ...process.argv.slice(2)].join(' ');
  console.log(`fleet sync bench: node ${process.version}, ${cpu} x${os.cpus().length}, redis ${version} on 127.0.0.1:${redis.port}`);
  let calls, steady, prop;
  try {
    calls = await measureCalls(redis.url);
    const c = calls.summary;
    const f = (s) => `${s.median.toFixed(1)} [${s.min.toFixed(1)}-${s.max.toFixed(1)}]`;
    console.log(`\n1. protected call, sequential, ${OPS.toLocaleString('en-US')} calls x ${ROUNDS} interleaved rounds, a child per sample; ns per call, median [min-max]`);
    console.log(`   fleet off  ${f(c.off)}\n   fleet on   ${f(c.on)}`);
    console.log(`   on/off: ${c.ratioOfMedians.toFixed(3)}x (ratio of medians), ${c.medianOfRoundRatios.toFixed(3)}x (median of per-round ratios); target <= 1.05x: ${SMOKE ? 'n/a (--smoke: too few calls)' : c.medianOfRoundRatios <= 1.05 ? 'met' : 'NOT met'}`);

    steady = await measureSteady(redis.url, admin);
    const s = steady.summary;
    const list = (pred) => Object.entries(s.byCommand).filter(([k]) => pred(k)).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
    console.log(`\n2. steady state: ${INSTANCES} instances (3 registries, each attachFleet) in 1 child, syncIntervalMs ${SYNC_MS}, ${s.protectedCalls.toLocaleString('en-US')} protected calls over ${s.durationS.toFixed(2)} s, ${s.transitions} transitions`);
    console.log(`   commandstats: ${s.totalCommands} commands = ${s.commandsPerSecond.toFixed(2)}/s, ${s.commandsPerProtectedCall.toExponential(2)} per protected call`);
    console.log(`   client round trips: ${s.roundTrips} = ${s.roundTripsPerSecond.toFixed(2)}/s (expected ~${s.expectedRoundTripsPerSecond}/s): ${list((k) => !IN_SCRIPT.has(k))}`);
    console.log(`   run inside the Lua scripts: ${list((k) => IN_SCRIPT.has(k))}`);
    console.log(`   excluded, the bench's admin connection: CONFIG RESETSTAT (before the window), ${Object.entries(s.adminExcluded).map(([k, n]) => `${k} ${n}`).join(', ')}`);
    console.log(`   instances: ${JSON.stringify(steady.raw.child.fleet)}`);

    prop = await measurePropagation(redis.url, admin);
    console.log(`\n3. propagation, ${INSTANCES} instances in ${INSTANCES} children, ${TRIPS} trips (tripper in turn); ms p50 / p99 / max, Date.now() [sub-ms wall clock]`);
    const { subscribedAtEnd, lateOverHalfInterval, lateReceivers, ...kinds } = prop.summary;
    console.log(`   subscribed to the channel at the end: ${subscribedAtEnd}; samples later than syncIntervalMs / 2 (pub/sub missed, caught by the reconcile loop): ${lateOverHalfInterval} ${lateReceivers.join(' ')}`);
    for (const [k, { dateNow: d, wallClock: w }] of Object.entries(kinds)) {
      console.log(`   ${k.padEnd(13)} n=${String(d.n).padEnd(4)} ${d.p50} / ${d.p99} / ${d.max}  [${w.p50.toFixed(3)} / ${w.p99.toFixed(3)} / ${w.max.toFixed(3)}]`);
    }
  } finally {
    admin.disconnect();
    redis.proc.kill();
    await once(redis.proc, 'exit');
  }
  if (process.argv.includes('--write')) {
    const out = {
      command, date: new Date().toISOString(), node: process.version, cpu, cores: os.cpus().length, redis: version, ioredis: require('ioredis/package.json').version,
      fleetJsSha1: require('node:crypto').createHash('sha1').update(fs.readFileSync(path.join(root, 'lib', 'resilience', 'fleet.js'))).digest('hex'),
      options: { rounds: ROUNDS, ops: OPS, windowMs: WINDOW_MS, trips: TRIPS, smoke: SMOKE },
      summary: { calls: calls.summary, steady: steady.summary, propagation: prop.summary },
      raw: { calls: calls.raw, steady: steady.raw, propagation: prop.raw },
    };
    fs.writeFileSync(path.join(__dirname, 'fleet-results.json'), `${JSON.stringify(out, null, 2)}\n`);
    writeSection(out);
    console.log('\nwrote bench/fleet-results.json and the fleet section of BENCHMARKS.md');
  }
}

/** Replaces the fleet section of BENCHMARKS.md (between its markers; `npm run bench` keeps it). */
function writeSection({ command, date, node, cpu, cores, redis, summary: { calls, steady, propagation } }) {
  const f = (x) => `${x.median.toFixed(1)} ns [${x.min.toFixed(1)}-${x.max.toFixed(1)}]`;
  const ms = (k) => `${k.wallClock.p50.toFixed(2)} / ${k.wallClock.p99.toFixed(2)} / ${k.wallClock.max.toFixed(2)} ms`;
  const section = [
    '<!-- fleet:start -->',
    '## Fleet mode (breaker state shared through Redis)',
    '',
    `Measured by \`${command}\` (\`npm run bench:fleet\`) on ${date.slice(0, 10)}: Node ${node}, ${cpu} x${cores}, redis ${redis} on loopback. Raw samples: \`bench/fleet-results.json\`.`,
    '',
    '| measure | figure |',
    '|---|---|',
    `| protected call, fleet off (median [min-max], ${ROUNDS} rounds x 1,000,000 calls) | ${f(calls.off)} |`,
    `| protected call, fleet on | ${f(calls.on)} |`,
    `| on / off (median of per-round ratios; target at most 1.05x) | ${calls.medianOfRoundRatios.toFixed(3)}x |`,
    `| Redis round trips at steady state, 3 instances, syncIntervalMs 1000, ${steady.protectedCalls.toLocaleString('en-US')} calls in ${steady.durationS.toFixed(0)} s | ${steady.roundTripsPerSecond.toFixed(2)}/s (instances / interval = 3/s) |`,
    `| Redis commands at steady state (INFO commandstats, the scripts' inner commands included) | ${steady.commandsPerSecond.toFixed(2)}/s, ${steady.totalCommands} in all: 0 per protected call |`,
    `| propagation of a trip to the other instances (remote_open), p50 / p99 / max, ${propagation.remote_open.wallClock.n ?? propagation.remote_open.dateNow.n} samples | ${ms(propagation.remote_open)} |`,
    `| propagation of a close (remote_close), p50 / p99 / max | ${ms(propagation.remote_close)} |`,
    '<!-- fleet:end -->',
  ].join('\n');
  const file = path.join(root, 'BENCHMARKS.md');
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const block = /<!-- fleet:start -->[\s\S]*?<!-- fleet:end -->/;
  fs.writeFileSync(file, block.test(old) ? old.replace(block, section) : `${old.trimEnd()}\n\n${section}\n`);
}



const kind = process.argv.indexOf('--child') > 0 ? process.argv[process.argv.indexOf('--child') + 1] : null;
const opts = kind ? JSON.parse(process.env.FLEET_BENCH) : null;
const entry = { call: childCall, steady: childSteady, worker: childWorker }[kind] ?? main;
Promise.resolve().then(() => entry(opts)).catch((e) => { console.error(e); process.exit(1); });
