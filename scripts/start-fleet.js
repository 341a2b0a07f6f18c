#!/usr/bin/env node
// Fleet mode's main job: redis-server (from PATH) on 127.0.0.1:6390 (FLEET_REDIS_PORT), the five
// simulated agents (ports 4101-4105, control on 4100) and three instances of the Next.js app on
// http://127.0.0.1:3000, 3001 and 3002, all sharing breaker state through that Redis. Run after
// the build (`npm run start:fleet` does both). Ctrl-C stops everything.
// With REDIS_URL set, that Redis is used and none is started. As in `npm start`, the open timeout
// is 20 s and the per-call timeout 3 s unless CIRCUIT_OPEN_TIMEOUT_MS / AGENT_TIMEOUT_MS are set.
'use strict';
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { startAgents, agentEnv } = require('./agent-sim');
const { startRedisServer } = require('./redis-server');

const PORTS = ['3000', '3001', '3002'];
const children = [];

/** Starts redis-server on `port`; one line and exit if it is not on PATH. */
async function startRedis(port) {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    console.error('start:fleet needs redis-server on PATH: install it (sudo apt-get install -y redis-server) or set REDIS_URL');
    process.exit(1);
  }
  children.push(await startRedisServer(port));
  return `redis://127.0.0.1:${port}`;
}

/** One `next start` on `port`, its output prefixed with the port. */
function startApp(port, env) {
  const next = spawn(process.execPath, [require.resolve('next/dist/bin/next'), 'start', '-p', port, '-H', '127.0.0.1'], {
    cwd: path.resolve(__dirname, '..'),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [next.stdout, next.stderr]) {
    stream.on('data', (d) => {
      for (const line of d.toString().split('\n')) if (line.trim()) console.log(`[${port}] ${line}`);
    });
  }
  children.push(next);
  return next;
}

async function main() {
  const redisUrl = process.env.REDIS_URL || (await startRedis(Number(process.env.FLEET_REDIS_PORT ?? 6390)).catch(fail));
  const sim = await startAgents({ basePort: 4101, controlPort: 4100 }).catch((e) => fail(new Error(`cannot start the simulated agents on ports 4100-4105: ${e.message}`)));
  const env = {
    ...process.env,
    ...agentEnv(sim.urls),
    REDIS_URL: redisUrl,
    CIRCUIT_OPEN_TIMEOUT_MS: process.env.CIRCUIT_OPEN_TIMEOUT_MS ?? '20000',
    AGENT_TIMEOUT_MS: process.env.AGENT_TIMEOUT_MS ?? '3000',
  };
  const apps = PORTS.map((port) => startApp(port, env));
  console.log(`redis: ${redisUrl}; agents: ${Object.values(sim.urls).join(' ')}; switch one with: npm run chaos -- amazon fail`);
  console.log(`apps: ${PORTS.map((p) => `http://127.0.0.1:${p}`).join(' ')} (diagnostics at /api/marketplace/diagnostics)`);
  const stop = (code) => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    sim.close().then(() => process.exit(code));
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  for (const app of apps) app.on('exit', (code) => stop(code ?? 0));
}

function fail(error) {
  console.error(error.message);
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  process.exit(1);
}

main();
