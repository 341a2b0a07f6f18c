/**
 * Install by name from a registry, as users do: the packages from `npm run pack` are published to
 * a local verdaccio on loopback (no uplinks), platform packages first, then the main package, and
 * `agent-circuit-breaker` is installed by name in fresh folders with npm, pnpm and yarn (berry, the
 * node-modules linker; and Plug'n'Play, to say whether it works). Each picks the linux-x64-gnu
 * package through `os`/`cpu`/`libc` and none of the others, compiles nothing (no cargo or rustc on
 * PATH) and runs no install script; `--omit=optional` gives ERR_NATIVE_BINDING_MISSING.
 *
 * Only linux-x64-gnu has a binary here: the other five platform packages are published as their
 * manifest and LICENSE (what a registry needs to show them to the installers, which must skip them
 * on this machine). The real ones are built and tested by the release workflow.
 */

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startRegistry, publishRelease } = require('../../scripts/local-registry') as {
  startRegistry(work: string): Promise<{ url: string; npmrc: string; stop(): Promise<void> }>;
  publishRelease(release: { platforms: string[]; main: string }, npmrc: string): void;
};

const root = path.resolve(__dirname, '../..');
const fixtures = path.join(__dirname, 'fixtures');
const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);
const YARN = path.join(root, 'node_modules', '@yarnpkg', 'cli-dist', 'bin', 'yarn.js');

/** PATH with node and the system tools, without cargo or rustc. */
const PATH = [path.dirname(process.execPath), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']
  .filter((dir) => !fs.existsSync(path.join(dir, 'cargo')) && !fs.existsSync(path.join(dir, 'rustc')))
  .join(':');

let registry = '';
let stopRegistry: (() => Promise<void>) | undefined;
let work = '';
let npmrc = '';
let summary: { version: string; main: { file: string }; platform: { file: string } };
const platforms = fs.readdirSync(path.join(root, 'npm'));

/** Runs a command; resolves its status and output (never throws). */
function run(cmd: string, args: string[], cwd: string, extraEnv: NodeJS.ProcessEnv = {}) {
  const env = { ...process.env, PATH, CARGO_HOME: '/nonexistent', RUSTUP_HOME: '/nonexistent', npm_config_userconfig: npmrc, ...extraEnv };
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 180_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

function ok(cmd: string, args: string[], cwd: string, extraEnv: NodeJS.ProcessEnv = {}): string {
  const r = run(cmd, args, cwd, extraEnv);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.out}`);
  return r.out;
}

function fresh(name: string): string {
  const dir = fs.mkdtempSync(path.join(work, `${name}-`));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, version: '1.0.0', private: true }));
  for (const f of ['smoke.cjs', 'smoke.mjs']) fs.copyFileSync(path.join(fixtures, f), path.join(dir, f));
  return dir;
}

/** The agent-circuit-breaker-* packages installed under `dir` (read from their package.json files). */
function installedPlatforms(dir: string): string[] {
  const found = new Set<string>();
  const walk = (d: string, depth: number) => {
    if (depth > 6 || !fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory() || e.isSymbolicLink()) {
        const manifest = path.join(p, 'package.json');
        if (/^agent-circuit-breaker-/.test(e.name) && fs.existsSync(manifest)) found.add(JSON.parse(fs.readFileSync(manifest, 'utf8')).name);
        else if (e.isDirectory()) walk(p, depth + 1);
      }
    }
  };
  walk(path.join(dir, 'node_modules'), 0);
  return [...found].sort();
}

/** Checks the installed package works (smoke, require and import) and that no package declares an install script. */
function expectWorking(dir: string, node: string[] = []): void {
  expect(ok(process.execPath, [...node, 'smoke.cjs'], dir)).toMatch(/^smoke ok on node/);
  expect(ok(process.execPath, [...node, 'smoke.mjs'], dir)).toMatch(/^import ok/);
  const manifests = [
    JSON.parse(ok(process.execPath, [...node, '-p', "JSON.stringify(require('agent-circuit-breaker/package.json'))"], dir)),
  ];
  for (const m of manifests) expect(m.scripts).toBeUndefined();
}

beforeAll(async () => {
  const file = path.join(root, 'pack', 'summary.json');
  if (!fs.existsSync(file)) throw new Error('no pack/ tarballs: run `npm run pack` first (the test command does)');
  summary = JSON.parse(fs.readFileSync(file, 'utf8'));
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'acb-registry-'));
  const local = await startRegistry(work);
  registry = local.url;
  npmrc = local.npmrc;
  stopRegistry = local.stop;

  // Platform packages first (as the release workflow does), then the main package.
  const standIns = platforms
    .filter((platform) => platform !== 'linux-x64-gnu')
    .map((platform) => {
      const dir = path.join(work, 'platform', platform);
      fs.mkdirSync(dir, { recursive: true });
      fs.copyFileSync(path.join(root, 'npm', platform, 'package.json'), path.join(dir, 'package.json'));
      fs.copyFileSync(path.join(root, 'LICENSE'), path.join(dir, 'LICENSE'));
      return dir;
    });
  publishRelease({ platforms: [...standIns, path.join(root, 'pack', summary.platform.file)], main: path.join(root, 'pack', summary.main.file) }, npmrc);
}, 120_000);

afterAll(async () => {
  await stopRegistry?.();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/**
 * The registry's document for `name`, on a connection of its own: a kept-alive socket from before
 * the publishing could be closed by verdaccio just as it is reused ("other side closed").
 */
function registryDocument(name: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    http
      .get(`${registry}${name}`, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk) => (body += chunk)).on('end', () => resolve(JSON.parse(body)));
      })
      .on('error', reject);
  });
}

test('every package is in the registry at the version packed', async () => {
  for (const name of ['agent-circuit-breaker', ...platforms.map((p) => `agent-circuit-breaker-${p}`)]) {
    const doc = (await registryDocument(name)) as { 'dist-tags': { latest: string } };
    expect([name, doc['dist-tags'].latest]).toEqual([name, summary.version]);
  }
});

test('npm installs it by name: the linux-x64-gnu package only, nothing compiled, no install script', () => {
  const dir = fresh('npm');
  const out = ok('npm', ['install', '--no-audit', '--no-fund', '--foreground-scripts', 'agent-circuit-breaker'], dir);
  expect(out).not.toMatch(/node-gyp|cargo|napi build|> .*install/);
  expect(installedPlatforms(dir)).toEqual(['agent-circuit-breaker-linux-x64-gnu']);
  expectWorking(dir);
}, 180_000);

test('pnpm installs it by name: the linux-x64-gnu package only', () => {
  const dir = fresh('pnpm');
  ok(process.execPath, [bin('pnpm'), 'add', 'agent-circuit-breaker', '--registry', registry, '--store-dir', path.join(work, 'pnpm-store'), '--config.confirmModulesPurge=false'], dir);
  expect(installedPlatforms(path.join(dir, 'node_modules', '.pnpm')).length + installedPlatforms(dir).length).toBeGreaterThan(0);
  const pnpmDirs = fs.readdirSync(path.join(dir, 'node_modules', '.pnpm')).filter((d) => d.startsWith('agent-circuit-breaker-'));
  expect(pnpmDirs.map((d) => d.replace(/@.*$/, ''))).toEqual(['agent-circuit-breaker-linux-x64-gnu']);
  expectWorking(dir);
}, 180_000);

/** Yarn (berry) in `dir`, set to this registry, its cache in the work folder. */
function yarn(dir: string, linker: 'node-modules' | 'pnp', args: string[]) {
  fs.writeFileSync(
    path.join(dir, '.yarnrc.yml'),
    [`nodeLinker: ${linker}`, ...(linker === 'pnp' ? ['pnpEnableEsmLoader: true'] : []), `npmRegistryServer: "${registry.replace(/\/$/, '')}"`, 'unsafeHttpWhitelist: ["127.0.0.1"]', 'enableGlobalCache: false', 'enableTelemetry: false',
      // Yarn quarantines versions published less than a day ago; these were published a second ago.
      'npmMinimalAgeGate: 0', ''].join('\n'),
  );
  // Its global folder (which caches registry metadata, tarball URLs included) in the work folder too.
  return run(process.execPath, [YARN, ...args], dir, { YARN_ENABLE_IMMUTABLE_INSTALLS: 'false', YARN_GLOBAL_FOLDER: path.join(work, 'yarn-global'), npm_config_userconfig: '' });
}

test('yarn (berry, node-modules linker) installs it by name: the linux-x64-gnu package only', () => {
  const dir = fresh('yarn');
  const r = yarn(dir, 'node-modules', ['add', 'agent-circuit-breaker']);
  if (r.status !== 0) throw new Error(`yarn add failed (${r.status}):\n${r.out}`);
  expect(installedPlatforms(dir)).toEqual(['agent-circuit-breaker-linux-x64-gnu']);
  expectWorking(dir);
}, 180_000);

test("yarn Plug'n'Play: installs, and the package loads through .pnp.cjs", () => {
  const dir = fresh('pnp');
  const r = yarn(dir, 'pnp', ['add', 'agent-circuit-breaker']);
  if (r.status !== 0) throw new Error(`yarn add failed (${r.status}):\n${r.out}`);
  expect(fs.existsSync(path.join(dir, 'node_modules'))).toBe(false);
  // Fetched into the project's cache and unplugged (its .node must be a real file): linux-x64-gnu only.
  const platformOf = (file: string) => /^(agent-circuit-breaker-[a-z0-9]+-[a-z0-9]+(?:-(?:gnu|musl|msvc))?)-npm-/.exec(file)?.[1];
  const cached = fs.readdirSync(path.join(dir, '.yarn', 'cache')).map(platformOf).filter(Boolean);
  const unplugged = fs.readdirSync(path.join(dir, '.yarn', 'unplugged')).map(platformOf).filter(Boolean);
  expect({ cached, unplugged }).toEqual({ cached: ['agent-circuit-breaker-linux-x64-gnu'], unplugged: ['agent-circuit-breaker-linux-x64-gnu'] });
  expectWorking(dir, ['--require', path.join(dir, '.pnp.cjs'), '--loader', path.join(dir, '.pnp.loader.mjs')]);
}, 180_000);

test('npm --omit=optional installs no platform package, and loading says ERR_NATIVE_BINDING_MISSING', () => {
  const dir = fresh('omit');
  ok('npm', ['install', '--no-audit', '--no-fund', '--omit=optional', 'agent-circuit-breaker'], dir);
  expect(installedPlatforms(dir)).toEqual([]);
  const r = run(process.execPath, ['-e', "require('agent-circuit-breaker')"], dir);
  expect(r.status).not.toBe(0);
  expect(r.out).toContain('ERR_NATIVE_BINDING_MISSING');
  expect(r.out).toContain('agent-circuit-breaker has no native binary for linux-x64-gnu');
}, 180_000);

test('npm run release:dry-run passes every step: build, pack, test, publish in order, install by name', () => {
  // With this machine's own environment: the dry run builds with cargo.
  const child = spawnSync(process.execPath, [path.join(root, 'scripts', 'release-dry-run.js')], { cwd: root, encoding: 'utf8', timeout: 280_000 });
  const r = { status: child.status, out: child.stdout };
  expect(r.out).toMatch(/release dry run 4\/5[\s\S]*\+ agent-circuit-breaker-linux-x64-gnu@[\d.]+\n/);
  const all = platforms.map((p) => `agent-circuit-breaker-${p}`).sort().join(', ');
  expect(r.out).toContain(`the main package's optionalDependencies agree with napi's: ${all}`);
  expect(r.out).toMatch(/published to http:\/\/127\.0\.0\.1:\d+\/: agent-circuit-breaker-linux-x64-gnu \(napi artifacts, napi prepublish\), then agent-circuit-breaker-[\d.]+\.tgz/);
  expect(r.out).toMatch(/release dry run 5\/5[\s\S]*smoke ok on node[\s\S]*import ok on node/);
  expect({ status: r.status, last: r.out.trim().split('\n').pop() }).toEqual({ status: 0, last: 'release dry run: every step passed' });
  expect(child.stderr).not.toMatch(/release dry run failed/);
}, 300_000);
