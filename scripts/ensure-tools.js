#!/usr/bin/env node
// The first step of `npm test`: the tests drive real programs from Debian's packages: redis-server
// (the Redis tests), chromium (the dashboard's browser test), promtool (package prometheus: the
// metrics and alert-rule checks, and the Prometheus server that scrapes the app) and shellcheck
// (actionlint checks the release workflow's shell steps with it). When any is
// missing, install them with one apt-get when running as root; otherwise stop before any test with
// one line naming the command to run. Exit 0 when all are there.
'use strict';
const { spawnSync } = require('node:child_process');

/** Each tool: the command and its version flag, and the Debian package that provides it. */
const TOOLS = [
  { command: 'redis-server', args: ['--version'], pkg: 'redis-server' },
  { command: 'chromium', args: ['--version'], pkg: 'chromium' },
  { command: 'promtool', args: ['--version'], pkg: 'prometheus' },
  { command: 'shellcheck', args: ['--version'], pkg: 'shellcheck' },
];

/** The tool's version line, or undefined when it is not on PATH. */
function found(tool) {
  const r = spawnSync(tool.command, tool.args, { encoding: 'utf8' });
  return r.status === 0 ? (r.stdout || r.stderr).trim().split('\n')[0] : undefined;
}

function isRoot() {
  if (process.env.ENSURE_TOOLS_AS_USER === '1') return false; // lets the test see the non-root path
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function aptInstall(packages) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', ...packages]]) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (r.status !== 0) return false;
  }
  return true;
}

function main() {
  const missing = TOOLS.filter((tool) => !found(tool));
  if (missing.length === 0) return 0;
  const packages = missing.map((tool) => tool.pkg);
  const install = `apt-get install -y ${packages.join(' ')}`;
  const names = missing.map((tool) => tool.command).join(', ');
  if (!isRoot()) {
    console.error(`npm test needs ${names} on PATH: run 'sudo ${install}' (Debian/Ubuntu), then npm test again`);
    return 1;
  }
  console.error(`${names} missing: installing ${packages.join(' ')} with apt-get (the tests run the real programs)`);
  const still = aptInstall(packages) ? missing.filter((tool) => !found(tool)) : missing;
  if (still.length > 0) {
    console.error(`could not install ${still.map((tool) => tool.pkg).join(' ')}: run '${install}' and npm test again`);
    return 1;
  }
  for (const tool of missing) console.error(found(tool));
  return 0;
}

process.exitCode = main();
