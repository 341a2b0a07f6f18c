/**
 * The metrics route as Prometheus sees it: the built app (`next start`) scraped over loopback.
 * promtool accepts the Prometheus text; a scraper asking for OpenMetrics gets it; and a real
 * Prometheus server (Debian's `prometheus`, which asks for OpenMetrics first) scrapes the app with
 * the bearer token, stores the transition series from 0 before the first opening (so
 * `increase(...)` sees it) and then the opening itself.
 */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { refusedPort, until } from './helpers/agent-server';
import { startApp, type App } from './helpers/next-app';

const TOKEN = 'scrape-secret-token';
const auth = { authorization: `Bearer ${TOKEN}` };
/** What Prometheus 2.x sends: OpenMetrics first, then the text format. */
const PROMETHEUS_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

let app: App;
let prometheus: ChildProcess | undefined;
let promBase = '';
let promLog = '';
const dirs: string[] = [];

function need(command: string): void {
  if (spawnSync(command, ['--version']).status !== 0) throw new Error(`${command} is not on PATH: apt-get install -y prometheus`);
}

const scrape = (accept?: string) => fetch(`${app.base}/api/marketplace/metrics`, { headers: { ...auth, ...(accept ? { accept } : {}) } });

async function trip(agent: string): Promise<void> {
  app.sim.setMode(agent, 'fail');
  for (let i = 0; i < 5; i++) {
    await fetch(`${app.base}/api/marketplace/analyze`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: { sku: 'B0C1' }, agents: [agent] }),
    });
  }
}

/** A PromQL instant query's result vector. */
async function query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${promBase}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== 'success') throw new Error(`query ${promql} failed: ${JSON.stringify(body)}`);
  return body.data.result;
}


/** Starts Prometheus on a free loopback port, scraping the app every 500 ms with the token. */
async function startPrometheus(): Promise<void> {
  need('prometheus');
  const dir = mkdtempSync(join(tmpdir(), 'prometheus-'));
  dirs.push(dir);
  const port = await refusedPort();
  promBase = `http://127.0.0.1:${port}`;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 500ms, scrape_timeout: 400ms }',
      'scrape_configs:',
      '  - job_name: agent-circuit-breaker',
      '    metrics_path: /api/marketplace/metrics',
      `    authorization: { type: Bearer, credentials: ${TOKEN} }`,
      `    static_configs: [{ targets: ['127.0.0.1:${app.port}'] }]`,
      '',
    ].join('\n'),
  );
  prometheus = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  prometheus.stdout!.on('data', (d: Buffer) => (promLog += d.toString()));
  prometheus.stderr!.on('data', (d: Buffer) => (promLog += d.toString()));
  const ready = await until(() => fetch(`${promBase}/-/ready`).then((r) => r.status), (s) => s === 200);
  if (ready !== 200) throw new Error(`prometheus did not come up:\n${promLog}`);
}

beforeAll(async () => {
  need('promtool');
  app = await startApp({ DIAGNOSTICS_TOKEN: TOKEN, CIRCUIT_OPEN_TIMEOUT_MS: '60000', AGENT_TIMEOUT_MS: '1000' });
}, 60_000);

afterAll(async () => {
  if (prometheus && prometheus.exitCode === null) {
    await new Promise<void>((resolve) => {
      prometheus!.once('exit', () => resolve());
      prometheus!.kill('SIGTERM');
    });
  }
  await app?.close();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

test('promtool check metrics accepts a real scrape, with no lint findings', async () => {
  const res = await scrape();
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const check = spawnSync('promtool', ['check', 'metrics'], { input: await res.text(), encoding: 'utf8' });
  expect({ status: check.status, out: check.stdout + check.stderr }).toEqual({ status: 0, out: '' });
});

test('a scraper that asks for OpenMetrics gets it; one that does not gets Prometheus text', async () => {
  const om = await scrape(PROMETHEUS_ACCEPT);
  expect(om.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
  expect(om.headers.get('vary')).toMatch(/accept/i);
  const text = await om.text();
  expect(text.endsWith('# EOF\n')).toBe(true);
  expect(text).toContain('# TYPE agent_circuit_transitions counter\n');
  expect(text).not.toContain('_total_total');
  expect((await scrape('text/plain;version=0.0.4')).headers.get('content-type')).toMatch(/^text\/plain/);
});

test('a real Prometheus scrapes the app as OpenMetrics, sees every transition series from 0, then the opening', async () => {
  await startPrometheus();
  const target = await until(
    async () => {
      const res = await fetch(`${promBase}/api/v1/targets`);
      const body = (await res.json()) as { data: { activeTargets: { health: string; lastError: string }[] } };
      return body.data.activeTargets[0];
    },
    (t) => t?.health === 'up',
  );
  expect(target).toMatchObject({ health: 'up', lastError: '' });

  // The OpenMetrics family name (without _total): Prometheus parsed the OpenMetrics exposition.
  const meta = (await (await fetch(`${promBase}/api/v1/metadata?metric=agent_circuit_transitions`)).json()) as { data: Record<string, { type: string }[]> };
  expect(meta.data.agent_circuit_transitions?.[0]?.type).toBe('counter');

  const opened = 'agent_circuit_transitions_total{agent="shein",from="CLOSED",to="OPEN"}';
  const before = await until(() => query(opened), (r) => r.length === 1);
  expect(before.map((r) => r.value[1])).toEqual(['0']);
  // Every pair, for every agent, before anything happened.
  expect((await query('count(agent_circuit_transitions_total)'))[0].value[1]).toBe(String(5 * 9));

  await trip('shein');
  const after = await until(() => query(opened), (r) => r[0]?.value[1] === '1');
  expect(after[0].value[1]).toBe('1');
  // The first opening shows in increase(), as an alert rule would compute it.
  const increase = await query(`increase(${opened}[1m])`);
  expect(Number(increase[0].value[1])).toBeGreaterThan(0);
  const state = await until(() => query('agent_circuit_state{agent="shein",state="OPEN"}'), (r) => r[0]?.value[1] === '1');
  expect(state[0].value[1]).toBe('1');
  // The histograms arrive as histograms: recovery buckets and call durations by outcome.
  expect((await query('count(agent_circuit_recovery_seconds_bucket{agent="shein"})'))[0].value[1]).toBe('13');
  const failures = await until(() => query('agent_circuit_call_duration_seconds_count{agent="shein",outcome="failure"}'), (r) => r[0]?.value[1] === '5');
  expect(failures[0]?.value[1]).toBe('5');
}, 60_000);
