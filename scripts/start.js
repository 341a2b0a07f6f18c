#!/usr/bin/env node
// The main job: five simulated marketplace agents on loopback (ports 4101-4105, control on 4100) and
// the Next.js app on http://127.0.0.1:3000 (PORT to change), pointed at them. Run after the build
// (`npm start` does both). Ctrl-C stops everything.
// For the walkthrough the breaker's open timeout is 20 s and the per-call timeout 3 s, unless
// CIRCUIT_OPEN_TIMEOUT_MS / AGENT_TIMEOUT_MS are set.
'use strict';
const path = require('node:path');
const { spawn } = require('node:child_process');
const { startAgents, agentEnv } = require('./agent-sim');

async function main() {
  const sim = await startAgents({ basePort: 4101, controlPort: 4100 }).catch((e) => {
    console.error(`cannot start the simulated agents on ports 4100-4105: ${e.message}`);
    process.exit(1);
  });
  const port = process.env.PORT ?? '3000';
  const env = {
    ...process.env,
    ...agentEnv(sim.urls),
    CIRCUIT_OPEN_TIMEOUT_MS: process.env.CIRCUIT_OPEN_TIMEOUT_MS ?? '20000',
    AGENT_TIMEOUT_MS: process.env.AGENT_TIMEOUT_MS ?? '3000',
  };
  const next = spawn(process.execPath, [require.resolve('next/dist/bin/next'), 'start', '-p', port, '-H', '127.0.0.1'], {
    cwd: path.resolve(__dirname, '..'),
    env,
    stdio: 'inherit',
  });
  console.log(`agents: ${Object.values(sim.urls).join(' ')}; switch one with: npm run chaos -- amazon fail`);
  console.log(`app: http://127.0.0.1:${port}/api/marketplace/diagnostics`);
  const stop = () => {
    next.kill('SIGTERM');
    sim.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  next.on('exit', (code) => sim.close().then(() => process.exit(code ?? 0)));
}
main();
