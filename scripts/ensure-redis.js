#!/usr/bin/env node
// The first step of `npm test`: the Redis tests start a real redis-server (Debian's package). If it
// is not on PATH, install it with apt-get when running as root; otherwise stop before any test with
// one line naming the command to run. Exit 0 when redis-server is there.
'use strict';
const { spawnSync } = require('node:child_process');

const INSTALL = 'apt-get install -y redis-server';

function found() {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function isRoot() {
  if (process.env.ENSURE_REDIS_AS_USER === '1') return false; // lets the test see the non-root path
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function aptInstall() {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', 'redis-server']]) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (r.status !== 0) return false;
  }
  return true;
}

function main() {
  if (found()) return 0;
  if (!isRoot()) {
    console.error(`npm test needs redis-server on PATH: run 'sudo ${INSTALL}' (Debian/Ubuntu), then npm test again`);
    return 1;
  }
  console.error('redis-server is missing: installing it with apt-get (the Redis tests start a real one)');
  if (!aptInstall() || !found()) {
    console.error(`could not install redis-server: run '${INSTALL}' and npm test again`);
    return 1;
  }
  console.error(found());
  return 0;
}

process.exitCode = main();
