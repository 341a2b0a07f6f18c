#!/usr/bin/env node
// `node scripts/release-check.js <tag>`: what must hold before a release publishes anything, checked
// by the release workflow on a version tag: the tag names package.json's version (`v<version>`), and
// CHANGELOG.md has a dated entry for that version (`## [<version>] - YYYY-MM-DD`), since the
// CHANGELOG ships in the package. Exits 1 naming each problem.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** The problems with releasing `tag` from the repository at `root` (empty: none). */
function releaseProblems(tag, root = path.resolve(__dirname, '..')) {
  const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const problems = [];
  if (tag !== `v${version}`) problems.push(`the tag ${tag} does not name package.json's version ${version} (expected v${version})`);
  const changelog = fs.readFileSync(path.join(root, 'CHANGELOG.md'), 'utf8');
  // Every regular-expression character of the version escaped: 1.0.0-rc.1+build has a `+`.
  const literal = version.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const dated = new RegExp(`^## \\[${literal}\\] - \\d{4}-\\d{2}-\\d{2}$`, 'm');
  if (!dated.test(changelog)) problems.push(`CHANGELOG.md has no dated entry for ${version}: add "## [${version}] - YYYY-MM-DD" above its changes`);
  return problems;
}

module.exports = { releaseProblems };

if (require.main === module) {
  const tag = process.argv[2];
  if (!tag) {
    console.error('usage: node scripts/release-check.js <tag, e.g. v1.2.3>');
    process.exit(2);
  }
  const problems = releaseProblems(tag);
  for (const p of problems) console.error(`release check: ${p}`);
  if (problems.length > 0) process.exit(1);
  console.log(`release check: ${tag} is ready`);
}
