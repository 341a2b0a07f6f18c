// Starts a throwaway redis-server (from PATH) on 127.0.0.1: no persistence, resolved once it
// accepts connections. Shared by `npm run start:fleet`, bench/fleet.js and the tests' RedisServer.
'use strict';
const { spawn } = require('node:child_process');

/**
 * Starts redis-server on `port` with `extraArgs`.
 * @returns {Promise<import('node:child_process').ChildProcess>} the process, once it accepts connections
 */
function startRedisServer(port, extraArgs = []) {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs];
  const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const ready = (d) => {
      out += d.toString();
      if (!out.includes('Ready to accept connections')) return;
      proc.stdout.off('data', ready);
      proc.stdout.resume();
      resolve(proc);
    };
    proc.stdout.on('data', ready);
    proc.once('error', reject);
    proc.once('exit', (code) => reject(new Error(`redis-server exited with ${code} (is port ${port} taken?): ${out}`)));
  });
}

module.exports = { startRedisServer };
