/**
 * `npm test` provisions what it needs: scripts/ensure-tools.js, its first step, finds redis-server,
 * chromium and promtool, installs the missing ones with one apt-get when root, or stops before any
 * test with one line naming the command.
 * Runs the script in a child process with a PATH of our own making (node, and fakes).
 */

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = join(__dirname, '..', '..', 'scripts', 'ensure-tools.js');

/** A folder for PATH holding only `node` (and whatever the test adds). */
function bin(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ensure-tools-'));
  symlinkSync(process.execPath, join(dir, 'node'));
  return dir;
}

function run(path: string, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8', env: { PATH: path, ...env } });
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test('with redis-server, chromium, promtool and shellcheck on PATH it passes quietly', () => {
  const r = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  expect(r.stderr).toBe('');
});

test('without the tools, not as root: stops with one line naming the install command', () => {
  const dir = bin();
  dirs.push(dir);
  const r = run(dir, { ENSURE_TOOLS_AS_USER: '1' });
  expect(r.status).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain('apt-get install -y redis-server chromium prometheus shellcheck');
});

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0 ? test : test.skip;

/** A stand-in for a tool: prints its version line. */
const fakeTool = (dir: string, name: string) => `printf '#!/bin/sh\\necho "${name} (fake)"\\n' > ${dir}/${name} && /bin/chmod +x ${dir}/${name}`;

test('with only some tools missing, it names only those', () => {
  const dir = bin();
  dirs.push(dir);
  spawnSync('/bin/sh', ['-c', `${fakeTool(dir, 'redis-server')} && ${fakeTool(dir, 'promtool')} && ${fakeTool(dir, 'shellcheck')}`]);
  const r = run(dir, { ENSURE_TOOLS_AS_USER: '1' });
  expect(r.status).toBe(1);
  expect(r.stderr.trim()).toMatch(/needs chromium on PATH: run 'sudo apt-get install -y chromium'/);
});

asRoot('without the tools, as root: installs them with one apt-get, then passes', () => {
  const dir = bin();
  dirs.push(dir);
  // A stand-in apt-get (the script runs apt-get by name from PATH) that records its arguments and "installs" a redis-server into the same folder.
  const log = join(dir, 'apt.log');
  writeFileSync(
    join(dir, 'apt-get'),
    `#!/bin/sh\necho "$@" >> ${log}\n[ "$1" = install ] && ${['redis-server', 'chromium', 'promtool', 'shellcheck'].map((t) => fakeTool(dir, t)).join(' && ')}\nexit 0\n`,
  );
  chmodSync(join(dir, 'apt-get'), 0o755);
  const r = run(dir); // the stand-in uses only shell builtins and absolute paths
  expect(r.status).toBe(0);
  const calls = spawnSync('cat', [log], { encoding: 'utf8' }).stdout.trim().split('\n');
  expect(calls).toEqual(['update -qq', 'install -y -qq redis-server chromium prometheus shellcheck']);
  expect(r.stderr).toContain('redis-server (fake)');
  expect(r.stderr).toContain('promtool (fake)');
});
