#!/usr/bin/env node
// `node scripts/glibc-ceiling.js <file.node> <max>`: fails when a Linux gnu binary needs a glibc symbol
// version above <max> (e.g. 2.17), so it would not load on a distribution as old as the one the
// README promises. `npm test` runs it on the installed linux-x64-gnu binary; the release workflow's
// test job on each gnu platform's binary before anything is published. Reads `objdump -T`.
'use strict';
const { execFileSync } = require('node:child_process');

/** The GLIBC_x.y symbol versions `file` needs, highest last. */
function glibcVersions(file) {
  const found = new Set(execFileSync('objdump', ['-T', file], { encoding: 'utf8' }).match(/GLIBC_[0-9.]+/g) ?? []);
  return [...found].map((v) => v.slice(6)).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
}

/** True when version `a` (x.y) is above `b`. */
const above = (a, b) => a.localeCompare(b, undefined, { numeric: true }) > 0;

module.exports = { glibcVersions };

if (require.main === module) {
  const [file, max] = process.argv.slice(2);
  if (!file || !/^\d+\.\d+$/.test(max ?? '')) {
    console.error('usage: node scripts/glibc-ceiling.js <file.node> <max glibc version, e.g. 2.17>');
    process.exit(2);
  }
  let versions;
  try {
    versions = glibcVersions(file);
  } catch (error) {
    console.error(`${file}: objdump could not read it (${String(error.message).split('\n')[0]})`);
    process.exit(1);
  }
  const over = versions.filter((v) => above(v, max));
  if (versions.length === 0) {
    console.error(`${file}: no GLIBC symbol versions found (not a Linux gnu binary?)`);
    process.exit(1);
  }
  if (over.length > 0) {
    console.error(`${file} needs GLIBC_${over.join(', GLIBC_')}, above ${max}: it would not load on glibc ${max}`);
    process.exit(1);
  }
  console.log(`${file} needs at most GLIBC_${versions.at(-1)} (ceiling ${max})`);
}
