#!/usr/bin/env node
// `npm run pack`: builds the release binary for linux-x64-gnu against glibc 2.17 (`napi build
// --use-napi-cross`: napi-rs's gcc and sysroot, taken from the npm registry) and writes into pack/
// (git-ignored):
//   agent-circuit-breaker-<version>.tgz                 the main package: loader, types, compiled JS,
//                                                       subpath entries, LICENSE, CHANGELOG.md
//   agent-circuit-breaker-linux-x64-gnu-<version>.tgz   the platform package: the .node
//   summary.json                                        sizes and the highest GLIBC symbol version
// The main package gets exact-version optionalDependencies on every platform package (scripts/manifest.js).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { platformsOf, publishedManifest } = require('./manifest');
const { glibcVersions } = require('./glibc-ceiling');

const root = path.resolve(__dirname, '..');
const out = path.join(root, 'pack');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
const quiet = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: root, encoding: 'utf8', ...opts }).trim();

/**
 * The linux-x64-gnu binary and the loader, as the release workflow builds them. package.json
 * `overrides` pins @napi-rs/cross-toolchain to 1.0.0: the CLI's own ^1.0.5 fetches toolchain
 * packages 1.0.5, which this project's registry lacks (it has x64-target-x86_64 1.0.0).
 */
function buildRelease() {
  // Its own target dir, so the glibc 2.17 build and the everyday build do not rebuild each other.
  const env = { ...process.env, CARGO_TARGET_DIR: path.join(root, 'target', 'glibc217') };
  run('npx', ['napi', 'build', '--platform', '--release', '--target', 'x86_64-unknown-linux-gnu', '--use-napi-cross', '--js', 'index.js', '--dts', 'index.d.ts'], { env });
  run('npx', ['tsc', '-p', 'tsconfig.build.json']);
}

/** Copies the main package's files into a staging folder with its publish-time package.json (scripts/manifest.js). */
function stageMain() {
  const stage = path.join(out, 'stage');
  fs.rmSync(stage, { recursive: true, force: true });
  const published = publishedManifest(pkg);
  const copy = (rel) => {
    fs.mkdirSync(path.dirname(path.join(stage, rel)), { recursive: true });
    fs.copyFileSync(path.join(root, rel), path.join(stage, rel));
  };
  // Every plain entry of "files" (the loader, the subpath entries, LICENSE, CHANGELOG.md), and the README.
  ['README.md', ...pkg.files.filter((f) => !f.includes('*'))].forEach(copy);
  for (const f of fs.readdirSync(path.join(root, 'lib', 'resilience'))) {
    if (f.endsWith('.js') || f.endsWith('.d.ts')) copy(path.join('lib', 'resilience', f));
  }
  fs.writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(published, null, 2)}\n`);
  return stage;
}

function highestGlibc(file) {
  try {
    return glibcVersions(file).pop() ?? null;
  } catch {
    return null;
  }
}

function main() {
  buildRelease();
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const binary = `${pkg.napi.binaryName}.linux-x64-gnu.node`;
  fs.copyFileSync(path.join(root, binary), path.join(root, 'npm', 'linux-x64-gnu', binary));
  fs.copyFileSync(path.join(root, 'LICENSE'), path.join(root, 'npm', 'linux-x64-gnu', 'LICENSE'));
  const stage = stageMain();
  const packed = (dir) => path.join(out, quiet('npm', ['pack', '--pack-destination', out, '--silent'], { cwd: dir }).split('\n').pop());
  const main = packed(stage);
  const platform = packed(path.join(root, 'npm', 'linux-x64-gnu'));
  fs.rmSync(stage, { recursive: true, force: true });
  const summary = {
    version: pkg.version,
    main: { file: path.basename(main), bytes: fs.statSync(main).size },
    platform: { file: path.basename(platform), bytes: fs.statSync(platform).size },
    node: { file: binary, bytes: fs.statSync(path.join(root, binary)).size, glibc: highestGlibc(path.join(root, binary)) },
    optionalDependencies: platformsOf(pkg).map((p) => `${pkg.name}-${p}`),
  };
  fs.writeFileSync(path.join(out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  console.log(JSON.stringify(summary, null, 2));
}
main();
