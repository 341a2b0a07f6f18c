#!/usr/bin/env node
// Switches one simulated agent: npm run chaos -- <agent> <ok|fail|hang|slow|flaky>
// Talks to the simulator's control server (CHAOS_URL, default http://127.0.0.1:4100).
'use strict';
const { AGENTS, MODES } = require('./agent-sim');

const [agent, mode] = process.argv.slice(2);
if (!AGENTS.includes(agent) || !MODES.includes(mode)) {
  console.error(`usage: npm run chaos -- <agent> <mode>\n  agents: ${AGENTS.join(', ')}\n  modes: ${MODES.join(', ')}`);
  process.exit(2);
}
const base = process.env.CHAOS_URL ?? 'http://127.0.0.1:4100';
fetch(`${base}/agents/${agent}/${mode}`, { method: 'POST' })
  .then(async (res) => {
    const body = await res.text();
    console.log(res.ok ? `${agent} is now ${mode}` : body);
    process.exit(res.ok ? 0 : 1);
  })
  .catch((e) => {
    console.error(`cannot reach the agent simulator at ${base} (is \`npm start\` running?): ${e.cause?.code ?? e.message}`);
    process.exit(1);
  });
