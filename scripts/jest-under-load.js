#!/usr/bin/env node
// `npm run test:load`: the whole Jest suite N times in a row (default 5) while a CPU hog keeps one
// core busy, as a loaded CI machine would. Prints each run's result and a closing count; exits 1 if
// any run failed. Expects what `npm test` builds first (the addon, the app, pack/): the npm script
// builds them.
// Usage: node scripts/jest-under-load.js [--runs N]
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const i = process.argv.indexOf('--runs');
const RUNS = i > 0 ? Number(process.argv[i + 1]) : 5;

// One busy loop in a child process: one of the two cores stays at 100 % for the whole run.
const hog = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
let passed = 0;
let failed = 0;
try {
  for (let run = 1; run <= RUNS; run++) {
    const t0 = Date.now();
    const jest = spawnSync(path.join(root, 'node_modules', '.bin', 'jest'), ['--ci', '--detectOpenHandles'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    });
    const summary = (jest.stderr.match(/^Tests:.*$/m) || ['Tests: (no summary)'])[0];
    const ok = jest.status === 0;
    if (ok) passed++;
    else failed++;
    console.log(`run ${run}/${RUNS}: ${ok ? 'pass' : 'FAIL'} in ${((Date.now() - t0) / 1000).toFixed(0)} s; ${summary}`);
    if (!ok) {
      // Each failure's heading and the lines after it (the assertion and where it failed).
      const lines = jest.stderr.split('\n');
      lines.forEach((l, at) => {
        if (/^\s+● /.test(l)) console.log(lines.slice(at, at + 14).join('\n'));
      });
    }
  }
} finally {
  hog.kill('SIGKILL');
}
console.log(`jest under load: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
