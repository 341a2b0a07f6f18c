/**
 * `npm run dev` (scripts/dev.js): next dev on the app with the simulated agents. What a developer
 * relies on: an edit to the app reloads in place and the breakers keep their state; an edit to the
 * library's TypeScript reaches the running app (compiled, installed, next dev restarted) and the
 * breakers' state crosses the restart. And `.env.example` lists every variable the app and its
 * scripts read.
 *
 * The test writes two probe files, one in the app and one in the library, and removes them after.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { refusedPort, until } from './helpers/agent-server';

/** How long next dev may take to compile a route or restart. */
const DEV_MS = 60_000;

const root = resolve(__dirname, '../..');
const probeRoute = join(root, 'app/api/dev-probe');
const probeLib = join(root, 'lib/resilience/dev-probe');
const tmp = mkdtempSync(join(tmpdir(), 'dev-test-'));
let dev: ChildProcess | undefined;
let log = '';
let base = '';


// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
const json = (path: string): Promise<Json> => fetch(`${base}${path}`).then(async (r) => (r.status === 200 ? r.json() : undefined));
const amazon = () => json('/api/marketplace/diagnostics').then((d) => d?.agents.amazon as { state: string; since: string; recoveryTimeRemainingMs: number | null; recentTransitions?: { reason: string }[] });
const logged = (text: string, from = 0) => until(async () => log.indexOf(text, from), (i) => i >= 0, DEV_MS);

function writeProbeRoute(version: string): void {
  mkdirSync(probeRoute, { recursive: true });
  writeFileSync(
    join(probeRoute, 'route.ts'),
    [
      "import { createRequire } from 'node:module';",
      "import { getAgentLoop } from '../../lib/ai/agent-loop';",
      "export const dynamic = 'force-dynamic';",
      // The probe is not an entry of the package's exports map: load the installed file by its path.
      "const installed = createRequire(`${process.cwd()}/`);",
      `export function GET(): Response {`,
      "  const { DEV_PROBE } = installed(`${process.cwd()}/node_modules/agent-circuit-breaker/lib/resilience/dev-probe.js`);",
      `  return Response.json({ app: '${version}', library: DEV_PROBE, amazon: getAgentLoop().getCircuitBreakerStatus('amazon').state });`,
      '}',
      '',
    ].join('\n'),
  );
}
const writeProbeLib = (version: string) => writeFileSync(`${probeLib}.ts`, `/** A probe written by dev.test.ts. */\nexport const DEV_PROBE = '${version}';\n`);

function cleanUp(): void {
  rmSync(probeRoute, { recursive: true, force: true });
  for (const ext of ['.ts', '.js', '.d.ts']) rmSync(`${probeLib}${ext}`, { force: true });
  rmSync(join(root, 'node_modules/agent-circuit-breaker/lib/resilience/dev-probe.js'), { force: true });
  rmSync(join(root, 'node_modules/agent-circuit-breaker/lib/resilience/dev-probe.d.ts'), { force: true });
}

afterAll(async () => {
  if (dev && dev.exitCode === null) {
    await new Promise<void>((done) => {
      dev!.once('exit', () => done());
      dev!.kill('SIGTERM');
    });
  }
  cleanUp();
  // next dev's generated types name the probe route: a later `next build` would type-check them.
  rmSync(join(root, '.next/dev'), { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

test('.env.example lists every variable the app and its scripts read, and only those', () => {
  const sources = [
    ...walk(join(root, 'app')),
    join(root, 'instrumentation.ts'),
    ...['start', 'dev', 'start-fleet', 'agent-sim', 'chaos'].map((s) => join(root, `scripts/${s}.js`)),
  ];
  const read = new Set<string>();
  for (const file of sources) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/env\.([A-Z][A-Z0-9_]+)|env, '([A-Z][A-Z0-9_]+)'/g)) read.add(m[1] ?? m[2]);
  }
  // Set by Next.js itself, not by the user.
  read.delete('NEXT_RUNTIME');
  for (const agent of ['AMAZON', 'MERCADOLIVRE', 'SHOPEE', 'SHEIN', 'TIKTOK_SHOP']) read.add(`AGENT_${agent}_URL`);
  const listed = new Set([...readFileSync(join(root, '.env.example'), 'utf8').matchAll(/^#?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
  expect([...read].filter((v) => !listed.has(v)).sort()).toEqual([]);
  // The OTEL_* variables beyond the endpoint are read by the OpenTelemetry SDK.
  expect([...listed].filter((v) => !read.has(v) && !v.startsWith('OTEL_')).sort()).toEqual([]);
});

/** Every .ts/.tsx file under `dir`. */
function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? walk(p) : /\.tsx?$/.test(e.name) ? [p] : [];
  });
}

test('npm run dev: app edits reload in place and library edits reach the app, with the breakers keeping their state', async () => {
  cleanUp();
  writeProbeLib('lib-1');
  const port = await refusedPort();
  base = `http://127.0.0.1:${port}`;
  dev = spawn(process.execPath, [join(root, 'scripts/dev.js')], {
    cwd: root,
    env: { ...process.env, CIRCUIT_OPEN_TIMEOUT_MS: '600000', PORT: String(port), AGENT_BASE_PORT: '0', AGENT_CONTROL_PORT: '0', CIRCUIT_STATE_FILE: join(tmp, 'state.json'), NEXT_TELEMETRY_DISABLED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  dev.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  dev.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  expect(await logged('dev: app on')).toBeGreaterThanOrEqual(0);
  const control = /control (http:\/\/[0-9.:]+)/.exec(log)?.[1];
  expect(control).toBeDefined();

  // Trip amazon through the app.
  expect((await until(amazon, (a) => a?.state === 'CLOSED', DEV_MS))?.state).toBe('CLOSED');
  await fetch(`${control}/agents/amazon/fail`, { method: 'POST' });
  for (let i = 0; i < 5; i++) {
    await fetch(`${base}/api/marketplace/analyze`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: { sku: 'B0C1' }, agents: ['amazon'] }) });
  }
  const opened = await amazon();
  expect(opened.state).toBe('OPEN');

  // An app edit: a new route, then an edit of it, served without a restart; same breaker, same state.
  writeProbeRoute('app-1');
  expect(await until(() => json('/api/dev-probe'), (p) => p?.app === 'app-1', DEV_MS)).toEqual({ app: 'app-1', library: 'lib-1', amazon: 'OPEN' });
  writeProbeRoute('app-2');
  expect(await until(() => json('/api/dev-probe'), (p) => p?.app === 'app-2', DEV_MS)).toEqual({ app: 'app-2', library: 'lib-1', amazon: 'OPEN' });
  expect(log).not.toContain('dev: library rebuilt');
  // The same breaker: opened once, by the failures, and not since (since is wall time derived from
  // the monotonic clock, so it may move by a millisecond between reads).
  const same = await amazon();
  expect(same.state).toBe('OPEN');
  expect(same.recentTransitions?.map((t) => t.reason)).toEqual(['failure_threshold']);
  expect(Math.abs(Date.parse(same.since) - Date.parse(opened.since))).toBeLessThanOrEqual(5);

  // A library edit: compiled, installed, next dev restarted; the app sees the new code and amazon is still OPEN.
  const mark = log.length;
  writeProbeLib('lib-2');
  expect(await logged('dev: library rebuilt', mark)).toBeGreaterThanOrEqual(0);
  expect(await until(() => json('/api/dev-probe'), (p) => p?.library === 'lib-2', DEV_MS)).toEqual({ app: 'app-2', library: 'lib-2', amazon: 'OPEN' });
  const restored = await amazon();
  expect(restored.state).toBe('OPEN');
  expect(restored.recentTransitions?.at(-1)?.reason).toBe('restored');
  // The open time left went on falling across the restart: it was not started afresh.
  expect(restored.recoveryTimeRemainingMs!).toBeLessThan(opened.recoveryTimeRemainingMs!);
  expect(existsSync(join(root, '.next/BUILD_ID'))).toBe(true); // next dev leaves the production build alone
}, 240_000);

test('npm run dev stops, tsc and all, when next dev dies', async () => {
  const port = await refusedPort();
  let out = '';
  const run = spawn(process.execPath, [join(root, 'scripts/dev.js')], {
    cwd: root,
    env: { ...process.env, PORT: String(port), AGENT_BASE_PORT: '0', AGENT_CONTROL_PORT: '0', CIRCUIT_STATE_FILE: join(tmp, 'state-2.json'), NEXT_TELEMETRY_DISABLED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  run.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  run.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((done) => run.once('exit', (code) => done(code)));
  try {
    expect(await until(async () => out.indexOf('dev: app on'), (i) => i >= 0, DEV_MS)).toBeGreaterThanOrEqual(0);
    const children = childrenOf(run.pid!);
    const next = children.find((c) => c.args.includes('next/dist/bin/next'));
    const tsc = children.find((c) => c.args.includes('typescript/bin/tsc'));
    expect(next && tsc).toBeTruthy();
    process.kill(next!.pid, 'SIGKILL');
    expect(await exited).not.toBe(0);
    expect(out).toMatch(/dev: next dev ended \(SIGKILL\): stopping/);
    expect(await until(async () => alive(tsc!.pid), (a) => !a, 10_000)).toBe(false);
  } finally {
    if (run.exitCode === null) run.kill('SIGKILL');
  }
}, 120_000);

/** The direct children of `pid`, with their command lines (from /proc). */
function childrenOf(pid: number): { pid: number; args: string }[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return ppid === pid ? [{ pid: Number(d), args: readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ') }] : [];
      } catch {
        return [];
      }
    });
}

/** Whether a process is still running (not a zombie). */
function alive(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
