#!/usr/bin/env node
// The installed-package smoke test, the same wherever it runs: `npm test` here (linux-x64-gnu, on
// Node 20, 22 and 24) and every test job of .github/workflows/release.yml on its own platform.
// Installs the main package and one platform package (tarballs) into a fresh folder with npm, then
// runs the smoke scripts with the Node that runs this one: require() (trip, fallback, recover on a
// manual clock) and import.
//   node scripts/smoke-package.js <main.tgz> <platform.tgz>
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const [main, platform] = process.argv.slice(2).map((f) => path.resolve(f));
if (!main || !platform) {
  console.error('usage: node scripts/smoke-package.js <main.tgz> <platform.tgz>');
  process.exit(2);
}
const fixtures = path.join(__dirname, '..', '__tests__', 'package', 'fixtures');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acb-smoke-'));
// On Windows npm is a .cmd, which runs only through a shell: each argument quoted for it.
const windows = process.platform === 'win32';
const npm = windows ? 'npm.cmd' : 'npm';
const quoted = (args) => (windows ? args.map((a) => `"${a}"`) : args);
try {
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'smoke-consumer', version: '1.0.0', private: true }));
  execFileSync(npm, quoted(['install', '--no-audit', '--no-fund', main, platform]), { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'], shell: windows });
  for (const f of ['smoke.cjs', 'smoke.mjs']) {
    fs.copyFileSync(path.join(fixtures, f), path.join(dir, f));
    process.stdout.write(execFileSync(process.execPath, [f], { cwd: dir, encoding: 'utf8' }));
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
