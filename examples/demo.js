#!/usr/bin/env node
// A breaker in action, in real time: an agent fails, the breaker opens after 5 consecutive failures,
// calls fail fast with a fallback, and after the open timeout two good probes close it again.
'use strict';
const { AgentCircuitBreaker, MARKETPLACE_AGENTS } = require('..');

const OPEN_TIMEOUT_MS = 1500;
const registry = new AgentCircuitBreaker({
  agents: MARKETPLACE_AGENTS,
  defaults: { openTimeoutMs: OPEN_TIMEOUT_MS },
  onTransition: (e) => console.log(`  transition ${e.agent}: ${e.from} -> ${e.to} (${e.reason}, ${e.consecutiveFailures} consecutive failures)`),
});

let amazonUp = false;
let amazonCalls = 0;
const amazon = async () => {
  amazonCalls++;
  await new Promise((r) => setTimeout(r, 20));
  if (!amazonUp) throw new Error('amazon agent: 503 Service Unavailable');
  return { phases: ['listing', 'pricing'] };
};
const emptyAnalysis = () => ({ phases: [], fallback: true });

async function call(label) {
  const t0 = process.hrtime.bigint();
  let result;
  try {
    result = await registry.execute('amazon', amazon, emptyAnalysis);
  } catch (e) {
    result = `error: ${e.message}`;
  }
  const us = Number(process.hrtime.bigint() - t0) / 1000;
  const s = registry.status('amazon');
  console.log(`${label.padEnd(28)} ${JSON.stringify(result).padEnd(44)} ${us.toFixed(0).padStart(6)} us  state=${s.state}`);
}

async function main() {
  console.log('amazon is down:');
  for (let i = 1; i <= 5; i++) await call(`call ${i}`);
  const before = amazonCalls;
  console.log('the breaker is open: calls fail fast with the empty analysis and never reach amazon:');
  for (let i = 1; i <= 3; i++) await call(`fast call ${i}`);
  console.log(`  amazon saw ${amazonCalls - before} of those calls; open for ${registry.status('amazon').openRemainingMs} ms more`);
  amazonUp = true;
  console.log(`amazon is back; waiting ${OPEN_TIMEOUT_MS} ms for the open timeout...`);
  await new Promise((r) => setTimeout(r, OPEN_TIMEOUT_MS + 50));
  console.log(`state is now ${registry.state('amazon')}`);
  await call('probe 1');
  await call('probe 2');
  await call('normal call');
  const s = registry.status('amazon');
  console.log(`recovered in ${s.recovery.lastMs} ms; calls: ${JSON.stringify(s.calls)}`);
}
main();
