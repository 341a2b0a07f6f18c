/**
 * The repository's app imports the package by name from node_modules/agent-circuit-breaker, a copy
 * of this repository's build with the published manifest (scripts/install-self.js; scripts/manifest.js
 * says why it is a copy). Any `npm install` here deletes that copy, so the postinstall hook puts it
 * back when there is a build, and on a fresh clone (nothing built) says what will, without failing.
 * Run on a scratch copy of the repository's layout, so the real node_modules is never touched.
 */

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
let scratch = '';

beforeEach(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'acb-install-self-'));
  fs.copyFileSync(path.join(root, 'package.json'), path.join(scratch, 'package.json'));
  fs.cpSync(path.join(root, 'scripts'), path.join(scratch, 'scripts'), { recursive: true });
  fs.cpSync(path.join(root, 'npm'), path.join(scratch, 'npm'), { recursive: true, filter: (src) => !src.endsWith('.node') });
  fs.mkdirSync(path.join(scratch, 'node_modules'));
  // scripts/manifest.js names the platforms with napi's own parser (@napi-rs/cli, a devDependency).
  fs.symlinkSync(path.join(root, 'node_modules', '@napi-rs'), path.join(scratch, 'node_modules', '@napi-rs'));
});

afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** `npm run postinstall` in the scratch copy: the hook npm runs after every install here. */
const postinstall = () => {
  const r = spawnSync('npm', ['run', '--silent', 'postinstall'], { cwd: scratch, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
};

test('the postinstall hook is install-self --if-built', () => {
  expect(pkg.scripts.postinstall).toBe('node scripts/install-self.js --if-built');
});

test('on a fresh clone (nothing built) the hook succeeds and says what will install the package', () => {
  expect(postinstall()).toEqual({ status: 0, out: expect.stringContaining('is not built yet: `npm run build:app` builds it') });
  expect(fs.existsSync(path.join(scratch, 'node_modules', 'agent-circuit-breaker'))).toBe(false);
});

test('with a build, the hook puts the copy back with the published manifest and its exports map', () => {
  for (const rel of ['index.js', 'index.d.ts', `${pkg.napi.binaryName}.linux-x64-gnu.node`, 'lib/resilience/index.js', 'lib/resilience/index.d.ts', 'lib/resilience/engine.ts']) {
    fs.mkdirSync(path.dirname(path.join(scratch, rel)), { recursive: true });
    fs.writeFileSync(path.join(scratch, rel), `// ${rel}\n`);
  }
  expect(postinstall()).toEqual({ status: 0, out: expect.stringContaining('installed agent-circuit-breaker@') });
  const copy = path.join(scratch, 'node_modules', 'agent-circuit-breaker');
  const manifest = JSON.parse(fs.readFileSync(path.join(copy, 'package.json'), 'utf8'));
  expect(Object.keys(manifest.exports)).toEqual(['.', './fleet', './prometheus', './otel', './package.json']);
  expect(manifest.scripts).toBeUndefined();
  expect(fs.existsSync(path.join(copy, 'lib', 'resilience', 'index.js'))).toBe(true);
  expect(fs.existsSync(path.join(copy, `${pkg.napi.binaryName}.linux-x64-gnu.node`))).toBe(true);
  // Sources are not what ships.
  expect(fs.existsSync(path.join(copy, 'lib', 'resilience', 'engine.ts'))).toBe(false);
});

test('run by hand (npm run build:app) with nothing built, it fails and says to build first', () => {
  const r = spawnSync(process.execPath, [path.join(scratch, 'scripts', 'install-self.js')], { cwd: scratch, encoding: 'utf8' });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('run `npm run build` first');
});
