#!/usr/bin/env node
// `npm run release:dry-run`: the release workflow's steps (.github/workflows/release.yml), run here
// against a local registry instead of npm:
//   1. build the targets this machine can build (linux-x64-gnu: `npm run pack`, glibc 2.17); the
//      others need their own runners and are listed as not built;
//   2. the main package and each built platform package, packed into pack/ by step 1's `npm run pack`;
//   3. test each built platform package as the workflow's test jobs do (scripts/smoke-package.js);
//   4. publish to a local verdaccio on loopback: the platform packages first, as the workflow does
//      (`napi artifacts` puts each binary in its npm/ folder, `napi prepublish` publishes), then the
//      main package, whose optionalDependencies must be the ones napi writes for the same targets;
//   5. install `agent-circuit-breaker` by name from it in a fresh folder and run the smoke scripts.
// Exits non-zero at the first step that fails.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { startRegistry, publish, publishPlatforms } = require('./local-registry');
const { platformsOf, publishedManifest } = require('./manifest');

const root = path.resolve(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const step = (n, what) => console.log(`\nrelease dry run ${n}/5: ${what}`);
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });

async function main() {
  const targets = platformsOf(pkg);
  step(1, 'build the buildable targets');
  run('npm', ['run', 'pack']);
  const summary = JSON.parse(fs.readFileSync(path.join(root, 'pack', 'summary.json'), 'utf8'));
  const built = ['linux-x64-gnu'];
  console.log(`built: ${built.join(', ')}; not built here (the workflow's runners build them): ${targets.filter((t) => !built.includes(t)).join(', ')}`);

  step(2, 'pack');
  const main = path.join(root, 'pack', summary.main.file);
  const platform = path.join(root, 'pack', summary.platform.file);
  for (const f of [main, platform]) console.log(`${path.basename(f)}: ${fs.statSync(f).size} bytes`);
  // Packed by step 1's `npm run pack`. The platform tarball is what step 3 tests; step 4 publishes
  // the npm/ folder it was packed from.

  step(3, 'test each built platform package (scripts/smoke-package.js)');
  run(process.execPath, [path.join(__dirname, 'smoke-package.js'), main, platform]);

  step(4, 'publish to a local registry: platform packages, then the main package');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'acb-release-'));
  const registry = await startRegistry(work);
  try {
    const napi = publishPlatforms(built, registry.npmrc, work);
    process.stdout.write(napi.out);
    const shipped = JSON.parse(execFileSync('tar', ['-xzOf', main, 'package/package.json'], { encoding: 'utf8' })).optionalDependencies;
    // napi writes one entry per target at the version: the ones it wrote for the targets built here
    // must be ours, and the main tarball must carry ours (scripts/manifest.js) for every target.
    const expected = publishedManifest(pkg).optionalDependencies;
    for (const [name, version] of Object.entries(napi.optionalDependencies)) {
      if (expected[name] !== version) throw new Error(`napi prepublish wrote ${name}@${version}, not ${name}@${expected[name]}`);
    }
    const sorted = (deps) => JSON.stringify(Object.entries(deps ?? {}).sort(([a], [b]) => a.localeCompare(b)));
    if (sorted(shipped) !== sorted(expected)) throw new Error(`the main package's optionalDependencies ${sorted(shipped)} are not napi's ${sorted(expected)}`);
    console.log(`the main package's optionalDependencies agree with napi's: ${Object.keys(expected).sort().join(', ')}`);
    publish(main, registry.npmrc);
    console.log(`published to ${registry.url}: ${built.map((p) => `agent-circuit-breaker-${p}`).join(', ')} (napi artifacts, napi prepublish), then ${path.basename(main)}`);

    step(5, 'install by name from the registry and run the smoke scripts');
    const consumer = path.join(work, 'consumer');
    fs.mkdirSync(consumer);
    fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'release-consumer', version: '1.0.0', private: true }));
    run('npm', ['install', '--no-audit', '--no-fund', 'agent-circuit-breaker'], { cwd: consumer, env: { ...process.env, npm_config_userconfig: registry.npmrc } });
    for (const f of ['smoke.cjs', 'smoke.mjs']) {
      fs.copyFileSync(path.join(root, '__tests__', 'package', 'fixtures', f), path.join(consumer, f));
      run(process.execPath, [f], { cwd: consumer });
    }
    console.log('\nrelease dry run: every step passed');
  } finally {
    await registry.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`release dry run failed: ${error.message}`);
  process.exit(1);
});
