/**
 * The built Next.js app (`next start`) on a free loopback port with the five simulated agents, for
 * tests that drive it over HTTP (or through a browser, or a Prometheus server). Needs
 * `npm run build:app` first (the test command runs it).
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
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startAgents, agentEnv } = require('../../../scripts/agent-sim') as {
  startAgents: () => Promise<Sim>;
  agentEnv: (urls: Record<string, string>) => Record<string, string>;
};

const root = path.resolve(__dirname, '../../..');

/** A running app and its agents. */
export interface App {
  /** `http://127.0.0.1:<port>`. */
  base: string;
  port: number;
  sim: Sim;
  /** What next start printed so far. */
  log(): string;
  /** Stops the app and the agents. */
  close(): Promise<void>;
}

/** Starts the agents and `next start` with `env` added; resolves once diagnostics answers. */
export async function startApp(env: Record<string, string> = {}): Promise<App> {
  if (!fs.existsSync(path.join(root, '.next', 'BUILD_ID'))) throw new Error('the app is not built: run `npm run build:app` first');
  const sim = await startAgents();
  const port = await refusedPort();
  const base = `http://127.0.0.1:${port}`;
  const next: ChildProcess = spawn(process.execPath, [require.resolve('next/dist/bin/next'), 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: root,
    env: { ...process.env, ...agentEnv(sim.urls), NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  next.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  next.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const close = async () => {
    if (next.exitCode === null && next.signalCode === null) {
      await new Promise<void>((resolve) => {
        next.once('exit', () => resolve());
        next.kill('SIGTERM');
      });
    }
    await sim.close();
  };
  const headers: Record<string, string> = env.DIAGNOSTICS_TOKEN ? { authorization: `Bearer ${env.DIAGNOSTICS_TOKEN}` } : {};
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = await fetch(`${base}/api/marketplace/diagnostics`, { headers }).then((r) => r.status, () => 0);
    if (status === 200) break;
    if (Date.now() > deadline || next.exitCode !== null) {
      await close();
      throw new Error(`next start did not come up:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { base, port, sim, log: () => log, close };
}
