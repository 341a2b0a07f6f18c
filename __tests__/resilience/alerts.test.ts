/**
 * The Grafana dashboard (grafana/agent-circuit-breaker.json) and the Prometheus alert rules
 * (prometheus/alerts.yml) shipped for the breakers' metric families.
 *
 * What a user relies on:
 * - the rules load into Prometheus (`promtool check rules`);
 * - each alert fires in the situation it describes and stays quiet in the others
 *   (`promtool test rules prometheus/alerts.test.yml`), and those unit tests really fail when a rule
 *   changes (a copy of the rules with a different threshold or expression fails them);
 * - every metric the dashboard and the rules query, and every label value they select on, is one the
 *   exporter really serves: a renamed family or label would otherwise leave a panel empty and an
 *   alert silent, with no error anywhere;
 * - the dashboard imports as is: a Prometheus data source variable, an agent variable, valid PromQL
 *   in every panel, and a state timeline that names each state in text and colour.
 *
 * Needs promtool on PATH (Debian's `prometheus` package).
 */

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgentCircuitBreaker, ManualClock, STATES } from 'agent-circuit-breaker';
import type { FleetStatus } from 'agent-circuit-breaker/fleet';
import { registerCircuitMetrics, stopCallDurations, type CircuitMetricsSource } from 'agent-circuit-breaker/prometheus';

/** The call-duration histogram on (it is off by default). */
const ON = { callDurations: true };

const ROOT = path.join(__dirname, '..', '..');
const RULES = path.join(ROOT, 'prometheus', 'alerts.yml');
const RULE_TESTS = path.join(ROOT, 'prometheus', 'alerts.test.yml');
const DASHBOARD = path.join(ROOT, 'grafana', 'agent-circuit-breaker.json');
/** promtool can take a moment on a busy machine. */
const SLOW = 30_000;

let tmp: string;
/** The exporters' sources: each one's call-duration histogram listens to every call until stopped. */
const sources: CircuitMetricsSource[] = [];
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'acb-alerts-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  for (const source of sources) stopCallDurations(source);
});

/** Runs promtool; its exit status and everything it printed. Fails in one line when it is missing. */
function promtool(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8' });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error("promtool is not installed: run `apt-get install -y prometheus` (npm test's first step installs it when run as root)");
  }
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** Writes `text` to `name` in the test's temporary directory; returns the path. */
function writeTmp(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/**
 * A copy of the rule unit tests next to a copy of alerts.yml with `from` replaced by `to` (which
 * must occur exactly once); returns the copied test file.
 */
function mutatedRuleTests(dir: string, from: string, to: string): string {
  const rules = fs.readFileSync(RULES, 'utf8');
  expect(rules.split(from)).toHaveLength(2);
  writeTmp(path.join(dir, 'alerts.yml'), rules.replace(from, to));
  return writeTmp(path.join(dir, 'alerts.test.yml'), fs.readFileSync(RULE_TESTS, 'utf8'));
}

/** Runs the rule unit tests with `from` replaced by `to` in alerts.yml: they must fail on `alert`. Returns promtool's output. */
function expectMutantCaught(dir: string, from: string, to: string, alert: string): string {
  const r = promtool('test', 'rules', mutatedRuleTests(dir, from, to));
  expect(r.status).not.toBe(0);
  expect(r.output).toMatch(new RegExp(`FAILED:\\s+alertname: ${alert}`));
  return r.output;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function readDashboard(): { [key: string]: Json } {
  return JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as { [key: string]: Json };
}

/** Every string under a key named `key`, anywhere in `node` (panels in rows included). */
function stringsUnder(node: Json, key: string): string[] {
  if (Array.isArray(node)) return node.flatMap((child) => stringsUnder(child, key));
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([k, v]) => (k === key && typeof v === 'string' ? [v] : stringsUnder(v, key)));
}

/** The dashboard's panel queries, and its template variables' queries. */
function dashboardQueries(): { panels: string[]; variables: string[] } {
  const dashboard = readDashboard();
  const templating = dashboard.templating;
  return {
    panels: stringsUnder(dashboard.panels, 'expr'),
    variables: [...stringsUnder(templating, 'definition'), ...stringsUnder(templating, 'query')],
  };
}

/** The panels, rows' nested panels included, rows themselves excluded. */
function panels(): Array<{ [key: string]: Json }> {
  const all = (list: Json): Array<{ [key: string]: Json }> =>
    (list as Array<{ [key: string]: Json }>).flatMap((p) => [p, ...all(p.panels ?? [])]);
  return all(readDashboard().panels).filter((p) => p.type !== 'row');
}

/** The state timeline over agent_circuit_state. */
function stateTimeline(): { [key: string]: Json } {
  const timeline = panels().find((p) => p.type === 'state-timeline' && stringsUnder(p.targets, 'expr').some((e) => e.includes('agent_circuit_state')));
  if (!timeline) throw new Error('no state-timeline panel over agent_circuit_state');
  return timeline;
}

/** The state timeline's value mappings: value -> text and colour. */
function stateMappings(): Record<string, { text: string; color: string }> {
  const { defaults } = stateTimeline().fieldConfig as { defaults: { mappings: Array<{ type: string; options: Record<string, { text: string; color: string }> }> } };
  return Object.assign({}, ...defaults.mappings.filter((m) => m.type === 'value').map((m) => m.options));
}

/** A panel query as Grafana sends it, with every agent selected and 5-minute intervals. */
function concrete(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$agent|\$\{agent\}/g, '.*');
}

/** The text the metric names and selectors are read from: every dashboard query, the rules and their unit tests. */
function queriedTexts(): string[] {
  const { panels: exprs, variables } = dashboardQueries();
  return [...exprs, ...variables, fs.readFileSync(RULES, 'utf8'), fs.readFileSync(RULE_TESTS, 'utf8')];
}

/** The metric names a text mentions. */
function metricNames(text: string): string[] {
  return text.match(/agent_circuit_[a-z_]+/g) ?? [];
}

/** The `label="value"` matchers of each selector in a text (`=~`, `!=` and `!~` are left out). */
function equalityMatchers(text: string): Array<{ metric: string; label: string; value: string }> {
  return [...text.matchAll(/(agent_circuit_[a-z_]+)\s*\{([^}]*)\}/g)].flatMap(([, metric, body]) =>
    [...body.matchAll(/([a-zA-Z_]\w*)\s*=\s*"([^"]*)"/g)].map(([, label, value]) => ({ metric, label, value })),
  );
}

/** A parsed Prometheus text exposition: family types, and every sample with its labels. */
interface Scrape {
  types: Map<string, string>;
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
}

function parseExposition(text: string): Scrape {
  const types = new Map<string, string>();
  const samples: Scrape['samples'] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) types.set(type[1], type[2]);
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!sample || line.startsWith('#')) continue;
    const labels = Object.fromEntries([...(sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => [k, v]));
    samples.push({ name: sample[1], labels, value: Number(sample[3]) });
  }
  return { types, samples };
}

/** The family a metric or sample name belongs to: itself, or a histogram's or summary's family. */
function familyOf(name: string, scrape: Scrape): string | undefined {
  if (scrape.types.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && scrape.types.has(base) ? base : undefined;
}

/** A fleet link as `attachFleet(...).status()` reports it, with one transition from elsewhere. */
function fleetStatus(): FleetStatus {
  return {
    instanceId: 'test:1:a',
    connected: true,
    lastSyncAt: new Date(0).toISOString(),
    instancesSeen: 2,
    syncErrors: 1,
    remoteTransitions: [{ agent: 'amazon', from: 'CLOSED', to: 'OPEN', count: 1 }],
    syncIntervalMs: 1000,
    agents: {},
  };
}

/** The exporter's families for `breakers`, as the app serves them (fallbacks, fleet mode, call durations). */
function exporter(breakers: AgentCircuitBreaker) {
  const source: CircuitMetricsSource = { breakers, fallbacks: () => ({ cached: 2, empty: 1 }), fleet: fleetStatus };
  sources.push(source);
  return registerCircuitMetrics(source, undefined, ON);
}

/**
 * A scrape after amazon has been through everything the dashboard shows: calls that succeed and
 * fail, a trip, a refused call, and a recovery back to CLOSED.
 */
async function liveScrape(): Promise<Scrape> {
  const clock = new ManualClock();
  const breakers = new AgentCircuitBreaker({ agents: ['amazon', 'shopee'], clock });
  const registry = exporter(breakers);
  const amazon = breakers.get('amazon');
  await amazon.execute(async () => 'ok');
  for (let i = 0; i < 5; i++) await amazon.execute(async () => Promise.reject(new Error('down'))).catch(() => 'failed');
  expect(amazon.state).toBe('OPEN');
  await amazon.execute(async () => 'not called', () => 'fallback');
  clock.advance(60_000);
  for (let i = 0; i < 2; i++) await amazon.execute(async () => 'ok');
  expect(amazon.state).toBe('CLOSED');
  return parseExposition(await registry.metrics());
}

describe('alert rules', () => {
  test('load into Prometheus', () => {
    const r = promtool('check', 'rules', RULES);
    expect(r.output).toContain('SUCCESS: 4 rules found');
    expect(r.status).toBe(0);
  }, SLOW);

  test('pass their unit tests (promtool test rules)', () => {
    const r = promtool('test', 'rules', RULE_TESTS);
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  }, SLOW);

  test('unit tests fail when the flapping threshold changes', () => {
    expectMutantCaught('flapping', '[15m])) >= 3', '[15m])) >= 4', 'AgentCircuitFlapping');
  }, SLOW);

  test('unit tests fail when open-too-long waits for OPEN alone (a breaker that keeps reopening reads HALF_OPEN between opens)', () => {
    expectMutantCaught('open', 'max by (agent) (agent_circuit_state{state="CLOSED"}) == 0', 'max by (agent) (agent_circuit_state{state="OPEN"}) == 1', 'AgentCircuitOpenTooLong');
  }, SLOW);
});

describe('alert rules and holds', () => {
  test.each([
    ['open-too-long waits 6 minutes', 'AgentCircuitOpenTooLong', 'min by (agent) (agent_circuit_isolated) == 1\n        for: 5m', 'min by (agent) (agent_circuit_isolated) == 1\n        for: 6m'],
    ['open-too-long waits 4 minutes', 'AgentCircuitOpenTooLong', 'min by (agent) (agent_circuit_isolated) == 1\n        for: 5m', 'min by (agent) (agent_circuit_isolated) == 1\n        for: 4m'],
    ['flapping counts over 14 minutes', 'AgentCircuitFlapping', '[15m])) >= 3', '[14m])) >= 3'],
    ['flapping counts over 16 minutes', 'AgentCircuitFlapping', '[15m])) >= 3', '[16m])) >= 3'],
  ])('unit tests fail when %s', (name, alert, from, to) => {
    expectMutantCaught(name.replace(/\W+/g, '-'), from, to, alert);
  }, SLOW);

  test("unit tests fail when open-too-long ignores operators' holds (agent_circuit_isolated)", () => {
    const output = expectMutantCaught('held', '\n          unless on (agent) min by (agent) (agent_circuit_isolated) == 1', '', 'AgentCircuitOpenTooLong');
    expect(output).toContain('shein');
  }, SLOW);

  test('unit tests fail when one instance holding an agent silences it on every instance (max instead of min)', () => {
    expectMutantCaught('held-max', 'min by (agent) (agent_circuit_isolated) == 1', 'max by (agent) (agent_circuit_isolated) == 1', 'AgentCircuitOpenTooLong');
  }, SLOW);
});

describe('dashboard', () => {
  test('has a Prometheus data source variable and a multi-value agent variable with All', () => {
    const dashboard = readDashboard();
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    const variables = (dashboard.templating as { list: Array<{ [key: string]: Json }> }).list;
    expect(variables.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const agent = variables.find((v) => v.name === 'agent');
    expect(agent).toMatchObject({ type: 'query', multi: true, includeAll: true, definition: 'label_values(agent_circuit_state, agent)' });
    expect(stringsUnder(agent!.query, 'query')).toEqual(['label_values(agent_circuit_state, agent)']);
  });

  test('every panel reads the chosen data source, has a title and a description, and filters by agent where it can', () => {
    const all = panels();
    expect(new Set(all.map((p) => p.id)).size).toBe(all.length);
    for (const panel of all) {
      expect({ title: panel.title, datasource: panel.datasource }).toEqual({ title: expect.stringMatching(/\w/), datasource: { type: 'prometheus', uid: '${datasource}' } });
      expect(String(panel.description).length).toBeGreaterThan(20);
      for (const expr of stringsUnder(panel.targets, 'expr')) {
        // The fleet link's families have no agent label.
        if (!/agent_circuit_(redis_up|sync_errors_total)/.test(expr)) expect(expr).toContain('agent=~"$agent"');
      }
    }
  });

  test('the state timeline names each state in text and in colour', () => {
    const options = stateMappings();
    expect(Object.values(options).map((o) => o.text).sort()).toEqual([...STATES].sort());
    expect(new Set(Object.values(options).map((o) => o.color)).size).toBe(STATES.length);
  });

  test("the state timeline's query gives each agent the value its mapping names (the worst state across instances)", () => {
    const valueOf = Object.fromEntries(Object.entries(stateMappings()).map(([value, o]) => [o.text, Number(value)]));
    const states: Array<[instance: string, agent: string, state: string]> = [
      ['app-1', 'amazon', 'OPEN'],
      ['app-1', 'shopee', 'HALF_OPEN'],
      ['app-1', 'shein', 'CLOSED'],
      ['app-1', 'tiktok-shop', 'HALF_OPEN'],
      ['app-2', 'tiktok-shop', 'OPEN'],
      ['app-3', 'tiktok-shop', 'CLOSED'],
    ];
    const expected = { amazon: 'OPEN', shopee: 'HALF_OPEN', shein: 'CLOSED', 'tiktok-shop': 'OPEN' };
    const input_series = states.flatMap(([instance, agent, current]) =>
      STATES.map((state) => ({ series: `agent_circuit_state{instance="${instance}",agent="${agent}",state="${state}"}`, values: state === current ? '1x3' : '0x3' })),
    );
    const exp_samples = Object.entries(expected).map(([agent, state]) => ({ labels: `{agent="${agent}"}`, value: valueOf[state] }));
    const expr = concrete(stringsUnder(stateTimeline().targets, 'expr')[0]);
    const tests = { rule_files: [], tests: [{ interval: '1m', input_series, promql_expr_test: [{ expr, eval_time: '2m', exp_samples }] }] };
    const r = promtool('test', 'rules', writeTmp('state-timeline.test.yml', JSON.stringify(tests, null, 2)));
    expect(r.output).toContain('SUCCESS');
    expect(r.status).toBe(0);
  }, SLOW);

  test('every panel query is valid PromQL', () => {
    const exprs = dashboardQueries().panels.map(concrete);
    expect(exprs.filter((e) => e.includes('$'))).toEqual([]);
    // JSON is YAML: a rules file of one recording rule per query, checked by Prometheus's parser.
    const rules = { groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `dashboard:query_${i}`, expr })) }] };
    const r = promtool('check', 'rules', writeTmp('dashboard-queries.yml', JSON.stringify(rules, null, 2)));
    expect(r.output).toContain(`SUCCESS: ${exprs.length} rules found`);
    expect(r.status).toBe(0);
  }, SLOW);

  test("shows the state, error ratio, rejections, fallbacks, recovery families and operators' holds", () => {
    const names = new Set(dashboardQueries().panels.flatMap(metricNames));
    // Every panel the README lists: state, error ratio, calls, failures by reason, rejections,
    // fallbacks, time to the next probe, recovery and call-duration quantiles, holds, the fleet's three.
    for (const name of [
      'agent_circuit_state', 'agent_circuit_error_ratio', 'agent_circuit_calls_total', 'agent_circuit_failures_total', 'agent_circuit_fallbacks_total',
      'agent_circuit_open_remaining_seconds', 'agent_circuit_recovery_seconds_bucket', 'agent_circuit_call_duration_seconds_bucket', 'agent_circuit_isolated',
      'agent_circuit_redis_up', 'agent_circuit_sync_errors_total', 'agent_circuit_remote_transitions_total',
    ]) {
      expect(names).toContain(name);
    }
    const queries = dashboardQueries().panels.join('\n');
    expect(queries).toMatch(/histogram_quantile\(0\.5, [^\n]*agent_circuit_recovery_seconds_bucket/);
    expect(queries).toMatch(/histogram_quantile\(0\.95, [^\n]*agent_circuit_recovery_seconds_bucket/);
    expect(queries).toMatch(/histogram_quantile\(0\.95, [^\n]*agent_circuit_call_duration_seconds_bucket/);
    expect(dashboardQueries().panels.join('\n')).toContain('agent_circuit_calls_total{agent=~"$agent",outcome="rejected"}');
  });
});

describe('what the dashboard and the rules query exists in a real scrape', () => {
  let scrape: Scrape;
  beforeAll(async () => {
    scrape = await liveScrape();
  });

  test('every metric name is a family the exporter serves, with samples (histogram series on histograms)', () => {
    const names = [...new Set(queriedTexts().flatMap(metricNames))].sort();
    expect(names.length).toBeGreaterThan(10);
    const problems = names.flatMap((name) => {
      const family = familyOf(name, scrape);
      if (!family) return [`${name}: no such family in the scrape`];
      if (name.endsWith('_bucket') && scrape.types.get(family) !== 'histogram') return [`${name}: ${family} is a ${scrape.types.get(family)}, not a histogram`];
      if (!scrape.samples.some((s) => familyOf(s.name, scrape) === family)) return [`${name}: ${family} has no samples`];
      return [];
    });
    expect(problems).toEqual([]);
  });

  test('every label value a selector matches exactly is one the exporter serves', () => {
    // Label values that name the scraped instance or a test's agent are the user's, not the exporter's.
    const own = new Set(['agent', 'instance', 'job', 'le']);
    const matchers = queriedTexts().flatMap(equalityMatchers).filter((m) => !own.has(m.label));
    expect(matchers.length).toBeGreaterThan(5);
    const missing = matchers.filter(
      ({ metric, label, value }) =>
        !scrape.samples.some((s) => familyOf(s.name, scrape) === familyOf(metric, scrape) && s.labels[label] === value),
    );
    expect([...new Set(missing.map(({ metric, label, value }) => `${metric}{${label}="${value}"}`))]).toEqual([]);
  });
});

test('a fresh breaker exports every transition between two states at 0, so increase() counts its first trip', async () => {
  const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
  const fresh = parseExposition(await exporter(breakers).metrics());
  const pairs = fresh.samples
    .filter((s) => s.name === 'agent_circuit_transitions_total' && s.labels.agent === 'amazon')
    .map((s) => `${s.labels.from}->${s.labels.to} ${s.value}`);
  const expected = STATES.flatMap((from) => STATES.filter((to) => to !== from).map((to) => `${from}->${to} 0`));
  expect(pairs).toEqual(expect.arrayContaining(expected));
});
