#!/usr/bin/env node
// `npm run dev`: `next dev` on the app with the five simulated agents, as `npm start` does, and the
// library's TypeScript recompiled on every edit.
//
// - Edits to the app (app/**) reload in place through Next's HMR; the breakers live on globalThis,
//   so they keep their state.
// - The library is loaded by Node, not by Next's bundler (a native addon cannot be bundled), so an
//   edit to lib/resilience/*.ts is compiled by `tsc --watch`, installed into
//   node_modules/agent-circuit-breaker, and `next dev` restarts to load it. The breakers' state
//   crosses the restart in CIRCUIT_STATE_FILE (default .next/dev-breaker-state.json).
// - Builds the native addon first when none is built (needs cargo); an edit to src/*.rs needs
//   `npm run build:native` and a restart of this script.
//
// PORT (3000) is the app's port; AGENT_BASE_PORT (4101) and AGENT_CONTROL_PORT (4100) the agents'
// (0: any free port).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { startAgents, agentEnv } = require('./agent-sim');

const root = path.resolve(__dirname, '..');
const port = process.env.PORT ?? '3000';
/** The child processes (tsc, next dev): none outlives this script, whichever way it ends. */
const children = new Set();
process.on('exit', () => children.forEach((child) => child.kill('SIGTERM')));

function spawnChild(command, args, options) {
  const child = spawn(command, args, options);
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

function run(command, args) {
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

/** Builds the addon if there is none. */
function ensureNative() {
  if (fs.readdirSync(root).some((f) => f.endsWith('.node'))) return;
  console.log('dev: no native addon built yet: npm run build:native');
  run('npm', ['run', 'build:native']);
}

/**
 * `next dev`, restartable: each start loads the library installed at that moment. Restarts run one
 * after another. If next dev ends by itself (a crash, a signal), `ended` is called with its code.
 */
function nextDev(env, ended) {
  let child;
  let stopping = false;
  let queue = Promise.resolve();
  const start = () => {
    child = spawnChild(process.execPath, [require.resolve('next/dist/bin/next'), 'dev', '-p', port, '-H', '127.0.0.1'], { cwd: root, env, stdio: 'inherit' });
    child.on('exit', (code, signal) => {
      if (!stopping) ended(code ?? (signal ? 1 : 0), signal);
    });
  };
  const stop = () =>
    new Promise((resolve) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
      stopping = true;
      child.once('exit', () => {
        stopping = false;
        resolve();
      });
      child.kill('SIGTERM');
    });
  start();
  return {
    restart: () => (queue = queue.then(stop).then(start)),
    stop: () => (queue = queue.then(stop)),
  };
}

/**
 * `tsc --watch` on the library; calls `compiled(ok)` after each compile: `ok` false when it had type
 * errors (tsc still wrote the JavaScript).
 */
function watchLibrary(compiled) {
  const tsc = spawnChild(process.execPath, [require.resolve('typescript/bin/tsc'), '--watch', '--preserveWatchOutput', '-p', 'tsconfig.build.json'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  let buffered = '';
  tsc.stdout.on('data', (chunk) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop();
    for (const line of lines) {
      if (/error TS\d+/.test(line)) console.log(`dev: ${line.trim()}`);
      if (/Found 0 errors/.test(line)) compiled(true);
      else if (/Found \d+ errors?/.test(line)) compiled(false);
    }
  });
  return tsc;
}

async function main() {
  ensureNative();
  const sim = await startAgents({ basePort: Number(process.env.AGENT_BASE_PORT ?? 4101), controlPort: Number(process.env.AGENT_CONTROL_PORT ?? 4100) }).catch((e) => {
    console.error(`cannot start the simulated agents: ${e.message} (set AGENT_BASE_PORT / AGENT_CONTROL_PORT, or 0 for any free port)`);
    process.exit(1);
  });
  const env = {
    ...process.env,
    ...agentEnv(sim.urls),
    CIRCUIT_OPEN_TIMEOUT_MS: process.env.CIRCUIT_OPEN_TIMEOUT_MS ?? '20000',
    AGENT_TIMEOUT_MS: process.env.AGENT_TIMEOUT_MS ?? '3000',
    CIRCUIT_STATE_FILE: process.env.CIRCUIT_STATE_FILE ?? path.join(root, '.next', 'dev-breaker-state.json'),
  };
  fs.mkdirSync(path.dirname(env.CIRCUIT_STATE_FILE), { recursive: true });
  console.log(`dev: agents ${Object.values(sim.urls).join(' ')} (control ${sim.control}; npm run chaos -- amazon fail)`);
  let next;
  let tsc;
  const shutdown = async (code) => {
    tsc?.kill('SIGTERM');
    await next?.stop();
    await sim.close();
    process.exit(code);
  };
  tsc = watchLibrary((ok) => {
    if (!ok) {
      console.log('dev: the library has type errors (see above): fix them; until then next dev runs the last good install');
      if (next) return;
    } else {
      run(process.execPath, [path.join(__dirname, 'install-self.js')]);
    }
    if (!next) {
      next = nextDev(env, (code, signal) => {
        console.log(`dev: next dev ended (${signal ?? `exit code ${code}`}): stopping`);
        shutdown(code || 1);
      });
      console.log(`dev: app on http://127.0.0.1:${port}/ (dashboard), edits to lib/resilience/*.ts restart it`);
    } else {
      console.log('dev: library rebuilt: restarting next dev (breaker state kept in CIRCUIT_STATE_FILE)');
      next.restart();
    }
  });
  tsc.on('exit', (code) => {
    if (code !== null && code !== 0) shutdown(code);
  });
  process.on('SIGINT', () => shutdown(0));
  process.on('SIGTERM', () => shutdown(0));
}

main();
