#!/usr/bin/env node
// Writes lib/resilience/contract.ts anew from src/contract.rs (the test that checks it, told to update).
const { spawnSync } = require('node:child_process');

const run = spawnSync('cargo', ['test', '--lib', '--quiet', 'contract'], {
  stdio: 'inherit',
  env: { ...process.env, UPDATE_CONTRACT: '1' },
});
process.exit(run.status ?? 1);
