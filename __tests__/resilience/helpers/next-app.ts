/**
 * The built Next.js app (`next start`) on a free loopback port, for tests that drive it over HTTP,
 * through a browser or through a Prometheus server; and the simulated agents it calls
 * (scripts/agent-sim.js). Needs `npm run build:app` first (the test command runs it).
 */

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { refusedPort } from './agent-server';

/** The simulated agents (scripts/agent-sim.js). */
export interface Sim {
  urls: Record<string, string>;
  setMode(agent: string, mode: string): void;
  requests(agent: string): number;
  close(): Promise<void>;
}

/** scripts/agent-sim.js: `startAgents()` on free ports, the app's environment for them, the agent ids. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const { startAgents, agentEnv, AGENTS } = require('../../../scripts/agent-sim') as {
  startAgents: () => Promise<Sim>;
  agentEnv: (urls: Record<string, string>) => Record<string, string>;
  AGENTS: readonly string[];
};

const root = path.resolve(__dirname, '../../..');

/** The built app under `next start`. */
export interface NextApp {
  /** `http://127.0.0.1:<port>`. */
  base: string;
  port: number;
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

/** An error whose report is its one-line message (no stack to scroll past). */
function oneLine(message: string): Error {
  const error = new Error(message);
  error.stack = message;
  return error;
}

/**
 * Starts `next start` with `env` over this process's environment (keys set to undefined are
 * removed), and waits until `/` answers 200.
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
  const app = { base, port, log: () => log, stop: () => stopProcess(child) };
  const end = Date.now() + readyMs;
  for (;;) {
    const status = await fetch(`${base}/`).then((r) => r.status, () => 0);
    if (status === 200) return app;
    if (child.exitCode !== null || Date.now() > end) {
      await app.stop();
      throw new Error(`next start did not serve / (last status ${status}):\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A running app and its own simulated agents. */
export interface App extends NextApp {
  sim: Sim;
  /** Stops the app and the agents. */
  close(): Promise<void>;
}

/** Starts the agents and `next start` pointed at them, with `env` added. */
export async function startApp(env: Record<string, string | undefined> = {}): Promise<App> {
  const sim = await startAgents();
  try {
    const next = await startNext({ ...agentEnv(sim.urls), ...env });
    return { ...next, sim, close: async () => (await next.stop(), await sim.close()) };
  } catch (error) {
    await sim.close();
    throw error;
  }
}
