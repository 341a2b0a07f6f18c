/**
 * Real-browser helpers for the dashboard test: Debian's chromium driven by playwright-core, the
 * built app under `next start`, and a collector of the page's console errors and page errors.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { refusedPort } from './agent-server';

/** Where the test expects chromium (Debian's package; the test command installs it). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a headless chromium on a closed network: without the background-networking ones it stalls. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const root = path.resolve(__dirname, '../../..');

/** An error whose report is its one-line message (no stack to scroll past). */
function oneLine(message: string): Error {
  const error = new Error(message);
  error.stack = message;
  return error;
}

/** Launches headless chromium; throws one line naming the fix when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw oneLine(`chromium is not installed at ${CHROMIUM_PATH}: run \`apt-get install -y chromium\` (the test command does)`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** A console error or page error seen in the page; `url` is where (for a network log, the request). */
export interface PageProblem {
  kind: 'console' | 'pageerror';
  text: string;
  url: string;
}

/** Collects the page's console errors and uncaught page errors into the returned array, as they happen. */
export function watchProblems(page: Page): PageProblem[] {
  const seen: PageProblem[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') seen.push({ kind: 'console', text: m.text(), url: m.location().url });
  });
  page.on('pageerror', (e) => seen.push({ kind: 'pageerror', text: e.stack ?? e.message, url: page.url() }));
  return seen;
}

/** One HTTP request without keep-alive; resolves to the status and body (status 0 when nothing answers). */
export function request(
  method: string,
  url: string,
  { body, headers = {} }: { body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', () => resolve({ status: 0, text: '' }));
    req.end(body);
  });
}

/** The built app under `next start` on a free loopback port. */
export interface NextApp {
  base: string;
  /** What the server printed so far. */
  log(): string;
  /** Stops the server and waits for it to exit. */
  stop(): Promise<void>;
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/**
 * Starts `next start` with `env` over this process's environment (keys set to undefined are
 * removed), and waits until `/` answers 200. Needs the built app (`.next/BUILD_ID`).
 */
export async function startNext(env: Record<string, string | undefined>, readyMs = 60_000): Promise<NextApp> {
  if (!fs.existsSync(path.join(root, '.next', 'BUILD_ID'))) throw oneLine('the app is not built: run `npm run build:app` first');
  const port = await refusedPort();
  const base = `http://127.0.0.1:${port}`;
  const merged = { ...process.env, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1', ...env };
  const childEnv = Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv;
  const child = spawn(process.execPath, [require.resolve('next/dist/bin/next'), 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: root,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const app = { base, log: () => log, stop: () => stopProcess(child) };
  const end = Date.now() + readyMs;
  for (;;) {
    const { status } = await request('GET', `${base}/`);
    if (status === 200) return app;
    if (child.exitCode !== null || Date.now() > end) {
      await app.stop();
      throw new Error(`next start did not serve / (last status ${status}):\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
