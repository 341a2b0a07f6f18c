// A local npm registry for the release dry run and the registry test: verdaccio (a devDependency)
// on a free loopback port with no uplinks, a user and its token, and publishing in release order.
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const { platformsOf, publishedManifest } = require('./manifest');

const root = path.resolve(__dirname, '..');

/** A free loopback port. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * Starts verdaccio with its storage under `work`; resolves to { url, npmrc, stop() } once it answers,
 * with a user whose token `npmrc` (a userconfig file) carries, so `npm publish` works against it.
 */
async function startRegistry(work) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const config = path.join(work, 'verdaccio.yaml');
  fs.writeFileSync(
    config,
    [
      `storage: ${path.join(work, 'storage')}`,
      `auth: { htpasswd: { file: ${path.join(work, 'htpasswd')}, max_users: 10 } }`,
      'uplinks: {}',
      "packages: { '**': { access: $all, publish: $authenticated } }",
      'log: { type: stdout, format: pretty, level: error }',
      '',
    ].join('\n'),
  );
  const child = spawn(path.join(root, 'node_modules', '.bin', 'verdaccio'), ['--config', config, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  const stop = () => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill('SIGTERM'))));
  const deadline = Date.now() + 30_000;
  while ((await fetch(`${url}-/ping`).then((r) => r.status, () => 0)) !== 200) {
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error('verdaccio did not start');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const res = await fetch(`${url}-/user/org.couchdb.user:release`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'release', password: 'release-dry-run' }),
  });
  const { token } = await res.json();
  const npmrc = path.join(work, '.npmrc');
  fs.writeFileSync(npmrc, `registry=${url}\n//127.0.0.1:${port}/:_authToken=${token}\n`);
  return { url, npmrc, stop };
}

/** `npm publish <target>` against the registry of `npmrc`; returns npm's output. */
function publish(target, npmrc) {
  return execFileSync('npm', ['publish', '--access', 'public', target], { env: { ...process.env, npm_config_userconfig: npmrc }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Publishes the platform packages `platforms` (npm/ folder names whose binary this machine built) as
 * the release workflow's publish job does, on a copy of its layout under `work`:
 *   1. the binaries lie in artifacts/<platform>/, as actions/download-artifact leaves them;
 *   2. `napi artifacts` moves each into its npm/ folder (and fails if a target's binary is missing);
 *   3. `napi prepublish` checks each folder against its target, publishes it, and skips a version
 *      already out.
 * The copy's package.json lists only those targets: both commands want a binary for every listed
 * target, and prepublish rewrites the manifest's optionalDependencies. Returns the commands' output
 * and the optionalDependencies napi wrote.
 */
function publishPlatforms(platforms, npmrc, work) {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const release = fs.mkdtempSync(path.join(work, 'release-'));
  const names = platformsOf(pkg);
  const targets = pkg.napi.targets.filter((_, i) => platforms.includes(names[i]));
  if (targets.length !== platforms.length) throw new Error(`not every one of ${platforms.join(', ')} is in package.json napi.targets`);
  fs.writeFileSync(path.join(release, 'package.json'), JSON.stringify({ ...publishedManifest(pkg), napi: { ...pkg.napi, targets } }, null, 2));
  for (const platform of platforms) {
    const binary = `${pkg.napi.binaryName}.${platform}.node`;
    const dir = path.join(release, 'npm', platform);
    fs.cpSync(path.join(root, 'npm', platform), dir, { recursive: true, filter: (src) => !src.endsWith('.node') });
    fs.copyFileSync(path.join(root, 'LICENSE'), path.join(dir, 'LICENSE'));
    fs.mkdirSync(path.join(release, 'artifacts', platform), { recursive: true });
    fs.copyFileSync(path.join(root, 'npm', platform, binary), path.join(release, 'artifacts', platform, binary));
  }
  const napi = (args, env = process.env) => execFileSync(path.join(root, 'node_modules', '.bin', 'napi'), args, { cwd: release, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const out =
    napi(['artifacts', '--output-dir', 'artifacts', '--npm-dir', 'npm']) +
    napi(['prepublish', '--tag-style', 'npm', '--no-gh-release'], { ...process.env, npm_config_userconfig: npmrc });
  const { optionalDependencies } = JSON.parse(fs.readFileSync(path.join(release, 'package.json'), 'utf8'));
  return { out, optionalDependencies };
}

/** Publishes in release order: every platform package (folders or tarballs), then the main package. */
function publishRelease({ platforms, main }, npmrc) {
  for (const target of platforms) publish(target, npmrc);
  publish(main, npmrc);
}

module.exports = { startRegistry, publish, publishRelease, publishPlatforms };
