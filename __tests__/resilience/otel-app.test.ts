/**
 * The app's OpenTelemetry wiring (`app/lib/ai/otel.ts`): with OTEL_EXPORTER_OTLP_ENDPOINT set, the
 * agent loop's breaker metrics reach a real OTLP/HTTP receiver on 127.0.0.1 (a node:http server
 * taking POST /v1/metrics; the http exporter sends OTLP JSON); without it, nothing is started and
 * no OpenTelemetry package is loaded.
 *
 * The exporting runs in a child `node` process (the app's TypeScript loaded through
 * scripts/ts-register.js): the OTLP exporter loads `http` with a dynamic `import()`, which Jest's
 * module sandbox refuses without --experimental-vm-modules. The receiver is here, in the test.
 */

import { spawn } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { AgentConfigError } from '../../app/lib/ai/agent-config';
import { startOtel, type OtelMetrics } from '../../app/lib/ai/otel';
import { eventually } from './helpers/agent-server';
import { setup, silent } from './helpers/fake-agents';
import { startApp } from './helpers/next-app';

const ROOT = path.join(__dirname, '..', '..');

/** The OTLP JSON shapes the test reads. */
type AnyValue = { stringValue?: string };
type JsonPoint = { attributes?: Array<{ key: string; value: AnyValue }>; asInt?: number | string; asDouble?: number; count?: number | string; sum?: number };
type JsonMetric = { name: string; unit?: string; gauge?: { dataPoints: JsonPoint[] }; sum?: { dataPoints: JsonPoint[] }; histogram?: { dataPoints: JsonPoint[] } };
type Export = { resourceMetrics: Array<{ resource?: { attributes?: Array<{ key: string; value: AnyValue }> }; scopeMetrics: Array<{ scope: { name: string }; metrics: JsonMetric[] }> }> };

/** A loopback OTLP/HTTP metrics receiver keeping every request body. */
class Receiver {
  readonly requests: Array<{ path: string; contentType: string; body: Export }> = [];
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/metrics') {
        res.writeHead(404).end();
        return;
      }
      try {
        this.requests.push({ path: req.url, contentType: req.headers['content-type'] ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Export });
      } catch {
        res.writeHead(400).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
  /** The points of `name` across every request received. */
  points(name: string): JsonPoint[] {
    return this.requests.flatMap((r) =>
      r.body.resourceMetrics.flatMap((rm) =>
        rm.scopeMetrics.flatMap((sm) => sm.metrics.filter((m) => m.name === name).flatMap((m) => (m.gauge ?? m.sum ?? m.histogram)?.dataPoints ?? [])),
      ),
    );
  }
}

const attrs = (p: JsonPoint) => Object.fromEntries((p.attributes ?? []).map((a) => [a.key, a.value.stringValue]));
const num = (p: JsonPoint) => Number(p.asInt ?? p.asDouble);
const serviceName = (body: Export) => body.resourceMetrics[0].resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue;

/**
 * The child process: an AgentLoop over an in-process transport (amazon answers 500, the others an
 * analysis), startOtel with the scenario's environment, one JSON line on stdout per step.
 */
const CHILD = String.raw`
const path = require('node:path');
const http = require('node:http');
const Module = require('node:module');
const root = process.env.ACB_ROOT;
const resolve = Module._resolveFilename;
// ts-register maps the package itself; its subpaths too come from this repository.
Module._resolveFilename = function (request, ...rest) {
  const sub = /^agent-circuit-breaker\/(otel|fleet|prometheus)$/.exec(request);
  return sub ? path.join(root, 'lib/resilience', sub[1] + '.js') : resolve.call(this, request, ...rest);
};
const { startOtel } = require(path.join(root, 'app/lib/ai/otel.ts'));
const { AgentLoop } = require(path.join(root, 'app/lib/ai/agent-loop.ts'));
const out = (line) => process.stdout.write(JSON.stringify(line) + '\n');
const quiet = { info() {}, warn() {} };
const logger = { info: (l) => out({ log: l }), warn: (l) => out({ log: l }) };
const env = {};
for (const id of ['amazon', 'mercadolivre', 'shopee', 'shein', 'tiktok-shop']) env['AGENT_' + id.toUpperCase().replace(/-/g, '_') + '_URL'] = 'http://127.0.0.1:9/' + id;
const transport = async (req) => req.agentId === 'amazon' ? { status: 500, body: '{}' } : { status: 200, body: JSON.stringify({ phases: [req.agentId] }) };
const loop = new AgentLoop({ env, transport, logger: quiet });
const stdinEnds = () => new Promise((r) => { process.stdin.on('end', r); process.stdin.resume(); });
const listen = (server, port) => new Promise((r) => server.listen(port, '127.0.0.1', () => r(server.address().port)));
async function main() {
  const scenario = process.env.SCENARIO;
  if (scenario === 'trip') {
    const otelEnv = { OTEL_EXPORTER_OTLP_ENDPOINT: process.env.ENDPOINT, OTEL_METRIC_EXPORT_INTERVAL: '200' };
    const m = await startOtel(loop, otelEnv, { logger });
    out({ url: m.url, intervalMs: m.intervalMs, same: (await startOtel(loop, otelEnv)) === m });
    await loop.callAgent('shopee', { sku: 'B0C1' });
    for (let i = 0; i < 5; i++) await loop.callAgent('amazon', { sku: 'B0C1' });
    out({ amazon: loop.getCircuitBreakerStatus('amazon').state });
    await stdinEnds(); // the test saw what it waited for
    await m.shutdown();
  } else if (scenario === 'flush') {
    const m = await startOtel(loop, { OTEL_EXPORTER_OTLP_ENDPOINT: process.env.ENDPOINT }, { logger });
    out({ intervalMs: m.intervalMs });
    await loop.callAgent('shein', { sku: 'B0C1' });
    await m.shutdown(); // exports the last values
  } else if (scenario === 'failing') {
    const server = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('{}')); });
    const port = await listen(server, 0);
    await new Promise((r) => server.close(r)); // nothing listens there now
    const m = await startOtel(loop, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:' + port }, { logger });
    for (let i = 0; i < 3; i++) await m.forceFlush();
    out({ step: 'listening' });
    await listen(server, port);
    for (let i = 0; i < 2; i++) await m.forceFlush();
    await m.shutdown();
    server.closeAllConnections();
    server.close();
  }
  out({ done: true });
}
main().catch((e) => { console.error(e); process.exit(1); });
`;

/** Runs the child with a scenario; its stdout lines parsed as they come. */
function child(scenario: string, endpoint = '', extraEnv: NodeJS.ProcessEnv = {}) {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_')));
  const proc = spawn(process.execPath, ['-r', path.join(ROOT, 'scripts/ts-register.js'), '-e', CHILD], {
    env: { ...env, ...extraEnv, SCENARIO: scenario, ENDPOINT: endpoint, ACB_ROOT: ROOT },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  let buffer = '';
  proc.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    for (const part of parts) if (part.trim()) lines.push(JSON.parse(part) as Record<string, unknown>);
  });
  proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, lines, stderr: () => stderr, exited, kill: () => proc.exitCode === null && proc.kill('SIGKILL') };
}

describe('startOtel pushing to a real OTLP/HTTP receiver (child process)', () => {
  test('after a trip, the receiver gets agent_circuit.state{agent=amazon,state=OPEN} = 1; the process then exits by itself', async () => {
    const receiver = new Receiver();
    const endpoint = await receiver.listen();
    const run = child('trip', endpoint);
    try {
      const open = () => receiver.points('agent_circuit.state').some((p) => attrs(p).agent === 'amazon' && attrs(p).state === 'OPEN' && num(p) === 1);
      expect(await eventually(open, 15_000)).toBe(true);
      run.proc.stdin.end(); // done: the child shuts its pipeline down and ends
      expect(await run.exited).toBe(0);
      expect(run.stderr()).toBe('');
      expect(run.lines.slice(0, 2)).toEqual([{ url: `${endpoint}/v1/metrics`, intervalMs: 200, same: true }, { amazon: 'OPEN' }]);
      expect(run.lines.at(-1)).toEqual({ done: true });
      const last = receiver.requests.at(-1)!;
      expect(last.contentType).toMatch(/^application\/json/);
      expect(last.body.resourceMetrics[0].scopeMetrics.map((s) => s.scope.name)).toEqual(['agent-circuit-breaker']);
      expect(serviceName(last.body)).toBe('agent-circuit-breaker-app');
      const shopee = receiver.points('agent_circuit.calls').filter((p) => attrs(p).agent === 'shopee' && attrs(p).outcome === 'success');
      expect(shopee.map(num)).toContain(1);
      const trips = receiver.points('agent_circuit.transitions').filter((p) => attrs(p).agent === 'amazon' && attrs(p).from === 'CLOSED' && attrs(p).to === 'OPEN');
      expect(trips.map(num)).toContain(1);
      // The loop's fallbacks are a source: amazon's failures were answered with empty fallbacks.
      expect(receiver.points('agent_circuit.fallbacks').some((p) => attrs(p).agent === 'amazon' && attrs(p).source === 'empty' && num(p) >= 1)).toBe(true);
      // Fleet mode is off: no fleet instruments. No export failed.
      expect(receiver.points('agent_circuit.redis.up')).toEqual([]);
      expect(run.lines.filter((l) => l.log)).toEqual([]);
    } finally {
      run.kill();
      await receiver.close();
    }
  }, 30_000);

  test('shutdown exports the last values (with the SDK\'s 60 s interval, nothing else would have)', async () => {
    const receiver = new Receiver();
    const endpoint = await receiver.listen();
    const run = child('flush', endpoint, { OTEL_SERVICE_NAME: 'marketplace-checkout' });
    try {
      expect(await run.exited).toBe(0);
      // OTEL_SERVICE_NAME names the service, as in every OpenTelemetry SDK.
      expect(receiver.requests.map((r) => serviceName(r.body))).toContain('marketplace-checkout');
      expect(run.stderr()).toBe('');
      expect(run.lines).toEqual([{ intervalMs: 60_000 }, { done: true }]);
      expect(receiver.points('agent_circuit.calls').some((p) => attrs(p).agent === 'shein' && attrs(p).outcome === 'success' && num(p) === 1)).toBe(true);
    } finally {
      run.kill();
      await receiver.close();
    }
  }, 30_000);

  test('export failures are logged once, and the recovery once', async () => {
    // The exporter reads OTEL_EXPORTER_OTLP_TIMEOUT itself: 300 ms leaves no time for its retries (1 s backoff).
    const run = child('failing', '', { OTEL_EXPORTER_OTLP_TIMEOUT: '300' });
    try {
      expect(await run.exited).toBe(0);
      expect(run.stderr()).toBe('');
      const steps = run.lines.map((l) => (l.log as { msg?: string } | undefined)?.msg ?? l.step ?? (l.done ? 'done' : '?'));
      expect(steps).toEqual(['otel_export_failed', 'listening', 'otel_export_recovered', 'done']);
      expect(run.lines[0].log).toMatchObject({ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/v1\/metrics$/), error: expect.any(String) });
    } finally {
      run.kill();
    }
  }, 30_000);
});

describe('the built app (next start) with OTEL_EXPORTER_OTLP_ENDPOINT', () => {
  test('instrumentation.ts starts the export: a trip over HTTP reaches the receiver as agent_circuit.state OPEN = 1', async () => {
    const receiver = new Receiver();
    const endpoint = await receiver.listen();
    const app = await startApp({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_METRIC_EXPORT_INTERVAL: '200', OTEL_METRIC_EXPORT_TIMEOUT: '200' });
    try {
      app.sim.setMode('amazon', 'fail');
      for (let i = 0; i < 5; i++) {
        await fetch(`${app.base}/api/marketplace/analyze`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ input: { sku: 'B0C1' }, agents: ['amazon'] }),
        });
      }
      const open = () => receiver.points('agent_circuit.state').some((p) => attrs(p).agent === 'amazon' && attrs(p).state === 'OPEN' && num(p) === 1);
      expect(await eventually(open, 15_000)).toBe(true);
      expect(serviceName(receiver.requests.at(-1)!.body)).toBe('agent-circuit-breaker-app');
      expect(app.log()).not.toMatch(/otel_export_failed|could not start/);
    } finally {
      await app.close();
      await receiver.close();
    }
  }, 60_000);
});

describe('startOtel in this process', () => {
  let running: OtelMetrics | undefined;
  afterEach(async () => {
    await running?.shutdown();
    running = undefined;
  });

  test('once per process: a second start gets the running pipeline; after shutdown a new one starts', async () => {
    const { loop } = setup();
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9/base/' };
    const first = await startOtel(loop, env, { logger: silent });
    expect(first).toBeDefined();
    expect([first!.url, first!.intervalMs]).toEqual(['http://127.0.0.1:9/base/v1/metrics', 60_000]);
    expect(await startOtel(() => loop, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://elsewhere:4318' })).toBe(first);
    await first!.shutdown();
    running = await startOtel(loop, { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://127.0.0.1:9/own/path' }, { logger: silent });
    expect(running).not.toBe(first);
    expect(running!.url).toBe('http://127.0.0.1:9/own/path');
  });

  test.each([
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }, 'OTEL_EXPORTER_OTLP_ENDPOINT', /must be an http:\/\/ or https:\/\/ URL \(got "not a url"\)/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_METRIC_EXPORT_INTERVAL: '0' }, 'OTEL_METRIC_EXPORT_INTERVAL', /OTEL_METRIC_EXPORT_INTERVAL must be an integer/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_METRIC_EXPORT_INTERVAL: '100', OTEL_METRIC_EXPORT_TIMEOUT: '200' }, 'OTEL_METRIC_EXPORT_TIMEOUT', /must not exceed OTEL_METRIC_EXPORT_INTERVAL/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'OTEL_EXPORTER_OTLP_PROTOCOL', /grpc is not supported/],
  ])('an unusable value is an AgentConfigError naming the variable: %j', async (env, variable, message) => {
    const { loop } = setup();
    const error = await startOtel(loop, env).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AgentConfigError);
    expect(error).toMatchObject({ variable, message: expect.stringMatching(message) });
  });
});

describe('without the variable', () => {
  const OTEL_PACKAGES = ['@opentelemetry/api', '@opentelemetry/sdk-metrics', '@opentelemetry/exporter-metrics-otlp-http', 'agent-circuit-breaker/otel'];

  /** Loads app/lib/ai/otel.ts in a fresh module registry that records which OpenTelemetry modules load. */
  async function isolated(run: (start: typeof startOtel) => Promise<unknown>): Promise<string[]> {
    const loaded: string[] = [];
    await jest.isolateModulesAsync(async () => {
      for (const name of OTEL_PACKAGES) {
        jest.doMock(name, () => {
          loaded.push(name);
          return jest.requireActual(name);
        });
      }
      const { startOtel: start } = await import('../../app/lib/ai/otel');
      await run(start);
    });
    for (const name of OTEL_PACKAGES) jest.dontMock(name);
    return loaded.sort();
  }

  test('startOtel resolves to undefined and loads no OpenTelemetry package', async () => {
    const { loop } = setup();
    let result: unknown = 'not called';
    const loaded = await isolated(async (start) => {
      result = await start(loop, { OTEL_METRIC_EXPORT_INTERVAL: '200' });
    });
    expect(result).toBeUndefined();
    expect(loaded).toEqual([]);
  });

  test('OTEL_SDK_DISABLED=true and OTEL_METRICS_EXPORTER=none turn it off too', async () => {
    const { loop } = setup();
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' };
    const loaded = await isolated(async (start) => {
      expect(await start(loop, { ...endpoint, OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
      expect(await start(loop, { ...endpoint, OTEL_METRICS_EXPORTER: 'none' })).toBeUndefined();
    });
    expect(loaded).toEqual([]);
  });

  test('(the check sees them load when it is set)', async () => {
    const { loop } = setup();
    const loaded = await isolated(async (start) => {
      const metrics = await start(loop, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' }, { logger: silent });
      await metrics!.shutdown();
    });
    expect(loaded).toEqual(expect.arrayContaining(['@opentelemetry/exporter-metrics-otlp-http', '@opentelemetry/sdk-metrics', 'agent-circuit-breaker/otel']));
  });
});
