/**
 * End to end: the built Next.js app (`next start`) on a free loopback port, with the five simulated
 * agents. Drives amazon's breaker open through the analyze route, watches diagnostics and metrics,
 * checks that the open circuit never reaches amazon, that it recovers, the token rules, and that
 * malformed bodies get 4xx. Needs `npm run build:app` first (the test command runs it).
 */

import * as http from 'node:http';
import fc from 'fast-check';
import { until } from './helpers/agent-server';
import { AGENTS, agentEnv, startApp, startNext, type App, type Sim } from './helpers/next-app';

const TOKEN = 'e2e-secret-token';
const OPEN_TIMEOUT_MS = 1500;
let app: App;
let sim: Sim;
let base: string;

/** One HTTP request without keep-alive; resolves to status, headers and body text. */
function request(
  method: string,
  url: string,
  { body, headers = {} }: { body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const auth = { authorization: `Bearer ${TOKEN}` };
const analyze = (payload: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  request('POST', `${base}/api/marketplace/analyze`, { body: JSON.stringify(payload), headers });
const diagnostics = async () => JSON.parse((await request('GET', `${base}/api/marketplace/diagnostics`, { headers: auth })).text);


beforeAll(async () => {
  app = await startApp({ CIRCUIT_OPEN_TIMEOUT_MS: String(OPEN_TIMEOUT_MS), AGENT_TIMEOUT_MS: '1000', DIAGNOSTICS_TOKEN: TOKEN });
  ({ sim, base } = app);
}, 60_000);

afterAll(async () => {
  await app?.close();
});

describe('the marketplace app', () => {
  test('analyze answers one analysis per agent', async () => {
    const res = await analyze({ input: { sku: 'B0C1' } });
    expect(res.status).toBe(200);
    const { results } = JSON.parse(res.text);
    expect(results.map((r: { agent: string }) => r.agent)).toEqual(['amazon', 'mercadolivre', 'shopee', 'shein', 'tiktok-shop']);
    for (const r of results) expect(r.result).toMatchObject({ fallback: false, cached: false });
  });

  test('five failures open amazon; diagnostics shows it OPEN with the time remaining, the others CLOSED', async () => {
    sim.setMode('amazon', 'fail');
    for (let i = 0; i < 5; i++) {
      const { results } = JSON.parse((await analyze({ input: { sku: 'B0C1' } })).text);
      expect(results[0].result).toMatchObject({ fallback: true, fallbackReason: 'http_5xx', cached: true });
    }
    const d = await diagnostics();
    expect(typeof d.generatedAt).toBe('string');
    const amazon = d.agents.amazon;
    expect(amazon.state).toBe('OPEN');
    expect(amazon.recoveryTimeRemainingMs).toBeGreaterThan(0);
    expect(amazon.recoveryTimeRemainingMs).toBeLessThanOrEqual(OPEN_TIMEOUT_MS);
    expect(amazon.recommendation).toMatch(/^open after 5 consecutive HTTP 5xx answers: retry after \d+ s \(\d\d:\d\d:\d\dZ\)$/);
    expect(amazon.lastFailure.reason).toBe('http_5xx');
    expect(amazon.metrics).toMatchObject({ failures: 5, fallbacksServed: { cached: 5, empty: 0 }, transitions: { 'CLOSED->OPEN': 1 } });
    for (const agent of ['mercadolivre', 'shopee', 'shein', 'tiktok-shop']) {
      expect(d.agents[agent]).toMatchObject({ state: 'CLOSED', recommendation: 'healthy' });
    }
  });

  test('the next analyze answers amazon with its fallback without amazon seeing a request', async () => {
    const seen = sim.requests('amazon');
    const { results } = JSON.parse((await analyze({ input: { sku: 'B0C1' } })).text);
    expect(results[0].result).toMatchObject({ fallback: true, fallbackReason: 'circuit_open', cached: true });
    expect(results[1].result).toMatchObject({ fallback: false });
    expect(sim.requests('amazon')).toBe(seen);
  });

  test('metrics parse as Prometheus text and carry the state gauge', async () => {
    const res = await request('GET', `${base}/api/marketplace/metrics`, { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?\d+(\.\d+)?(e[+-]?\d+)?|NaN|[+-]Inf)$/;
    const families = new Set<string>();
    for (const line of res.text.split('\n').filter(Boolean)) {
      if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
        const [, kind, name, rest] = /^# (HELP|TYPE) (\S+) (.+)$/.exec(line) ?? [];
        expect(name).toBeDefined();
        if (kind === 'TYPE') {
          expect(['counter', 'gauge', 'summary', 'histogram', 'untyped']).toContain(rest);
          families.add(name);
        }
        continue;
      }
      expect(line).toMatch(sample);
    }
    expect(families).toEqual(
      new Set([
        'agent_circuit_state',
        'agent_circuit_transitions_total',
        'agent_circuit_calls_total',
        'agent_circuit_failures_total',
        'agent_circuit_fallbacks_total',
        'agent_circuit_error_ratio',
        'agent_circuit_consecutive_failures',
        'agent_circuit_open_remaining_seconds',
        'agent_circuit_isolated',
        'agent_circuit_recovery_seconds',
        // The app turns call durations on: amazon's calls so far are in it.
        'agent_circuit_call_duration_seconds',
      ]),
    );
    expect(res.text).toMatch(/^agent_circuit_call_duration_seconds_count\{agent="amazon",outcome="failure"\} 5$/m);
    expect(res.text).toContain('agent_circuit_state{agent="amazon",state="OPEN"} 1');
    expect(res.text).toContain('agent_circuit_state{agent="shopee",state="CLOSED"} 1');
    expect(res.text).toContain('agent_circuit_transitions_total{agent="amazon",from="CLOSED",to="OPEN"} 1');
  });

  test('diagnostics answers in well under 50 ms', async () => {
    const times: number[] = [];
    for (let i = 0; i < 21; i++) {
      const t0 = performance.now();
      const res = await request('GET', `${base}/api/marketplace/diagnostics`, { headers: auth });
      times.push(performance.now() - t0);
      expect(res.headers['cache-control']).toBe('no-store');
    }
    times.sort((a, b) => a - b);
    expect(times[10]).toBeLessThan(50);
  });

  test('amazon comes back: HALF_OPEN after the open timeout, CLOSED after two good calls', async () => {
    sim.setMode('amazon', 'ok');
    const d = await until(diagnostics, (x) => x.agents.amazon.state === 'HALF_OPEN');
    expect(d.agents.amazon).toMatchObject({ state: 'HALF_OPEN', recommendation: 'half-open: probing, 0 of 2 successes' });
    for (let i = 0; i < 2; i++) {
      const { results } = JSON.parse((await analyze({ input: { sku: 'B0C1' }, agents: ['amazon'] })).text);
      expect(results[0].result).toMatchObject({ fallback: false });
    }
    const after = await diagnostics();
    expect(after.agents.amazon.state).toBe('CLOSED');
    expect(after.agents.amazon.metrics.recoveryTimeMs.count).toBe(1);
  });

  test('the token guards diagnostics, metrics and operator actions', async () => {
    for (const route of ['diagnostics', 'metrics']) {
      const url = `${base}/api/marketplace/${route}`;
      expect((await request('GET', url)).status).toBe(401);
      expect((await request('GET', url, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      expect((await request('GET', url, { headers: auth })).status).toBe(200);
    }
    const forceOpen = `${base}/api/marketplace/diagnostics/shein/force-open`;
    expect((await request('POST', forceOpen)).status).toBe(401);
    const opened = await request('POST', forceOpen, { headers: auth });
    expect(opened.status).toBe(200);
    expect(JSON.parse(opened.text)).toMatchObject({ agent: 'shein', state: 'OPEN' });
    const held = (await diagnostics()).agents.shein;
    expect(held.recommendation).toMatch(/^open: forced open by an operator, held until reset/);
    // Held OPEN by isolate(): no time at which it would recover by itself.
    expect([held.retryAt, held.recoveryTimeRemainingMs]).toEqual([null, null]);
    const reset = await request('POST', `${base}/api/marketplace/diagnostics/shein/reset`, { headers: auth });
    expect(JSON.parse(reset.text)).toMatchObject({ state: 'CLOSED' });
    expect((await request('POST', `${base}/api/marketplace/diagnostics/nope/reset`, { headers: auth })).status).toBe(404);
    expect((await request('POST', `${base}/api/marketplace/diagnostics/shein/explode`, { headers: auth })).status).toBe(404);
  });

  test('malformed bodies get 4xx with a message, never a 5xx', async () => {
    const json = { 'content-type': 'application/json' };
    const cases: Array<[string | Buffer, Record<string, string>, number, RegExp]> = [
      ['{not json', json, 400, /not JSON/],
      [JSON.stringify({ input: { big: 'x'.repeat(70_000) } }), json, 400, /over 65536 bytes/],
      [JSON.stringify({ input: {}, agents: ['amazon', 'walmart'] }), json, 400, /unknown agent "walmart"/],
      [JSON.stringify({ input: 'text' }), json, 400, /"input" must be a JSON object/],
      [JSON.stringify({ input: {}, agents: 'amazon' }), json, 400, /"agents" must be a non-empty array/],
      [JSON.stringify([1, 2]), json, 400, /must be a JSON object/],
      [JSON.stringify({ input: {}, extra: 1 }), json, 400, /unknown field "extra"/],
      ['input=1', { 'content-type': 'application/x-www-form-urlencoded' }, 415, /content-type must be application\/json/],
    ];
    for (const [body, headers, status, message] of cases) {
      const res = await request('POST', `${base}/api/marketplace/analyze`, { body, headers });
      expect(res.status).toBe(status);
      expect(JSON.parse(res.text).error).toMatch(message);
    }
    expect((await diagnostics()).agents.amazon.state).toBe('CLOSED');
  });
  test('a fuzz of request bodies never gets a 5xx, and the server stays up', async () => {
    const statuses = new Map<number, number>();
    const send = async (body: string | Buffer, type = 'application/json') => {
      const res = await request('POST', `${base}/api/marketplace/analyze`, { body, headers: { 'content-type': type } });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect(res.status).toBeLessThan(500);
      return res.status;
    };
    const bodies = fc.sample(
      fc.oneof(
        fc.json(),
        fc.jsonValue().map((input) => JSON.stringify({ input })),
        fc.jsonValue().map((agents) => JSON.stringify({ input: {}, agents })),
        fc.string({ unit: 'binary' }),
      ),
      { seed: 7, numRuns: 150 },
    );
    for (const body of bodies) await send(body);
    expect(await send('['.repeat(100_000) + ']'.repeat(100_000))).toBe(400); // deep nesting
    expect(await send(`{"input":${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}}`)).toBe(400); // deep input
    // 10 MB: the server answers 400 after 64 KiB and stops reading, so the client may still be
    // writing when the connection closes (EPIPE / ECONNRESET): both mean the body was refused.
    const huge = await send(Buffer.alloc(10 * 1024 * 1024, 'x')).catch((e: NodeJS.ErrnoException) => e.code);
    expect([400, 'EPIPE', 'ECONNRESET']).toContain(huge);
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '']) {
      expect(await send('{"input":{}}', type)).toBe(415);
    }
    expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
    expect((await analyze({ input: { sku: 'still up' } })).status).toBe(200);
  }, 120_000); // ~160 requests, each calling five agents: room for a loaded machine
});

test('a bad environment variable stops the server at start-up with a message naming it: it never serves', async () => {
  // Valid agent URLs (nothing listens: the server must stop before it calls any), one bad setting.
  const urls = Object.fromEntries(AGENTS.map((agent) => [agent, 'http://127.0.0.1:9']));
  const started = startNext({ ...agentEnv(urls), CIRCUIT_FAILURE_THRESHOLD: 'five' }, 45_000).then(
    async (app) => {
      await app.stop();
      return 'served';
    },
    (error: Error) => error.message,
  );
  const outcome = await started;
  expect(outcome).toMatch(/^next start did not serve \//);
  expect(outcome).toMatch(/agent loop configuration error: CIRCUIT_FAILURE_THRESHOLD must be an integer/);
}, 60_000);
