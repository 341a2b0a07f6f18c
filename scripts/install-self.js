#!/usr/bin/env node
// Installs this repository's built package into node_modules/agent-circuit-breaker, as a copy (not a
// symlink), so the Next.js app imports it by name exactly as a user's app would. A symlink would
// resolve into the project itself, and Next.js would then bundle the native addon instead of
// treating it as an external package (Turbopack: "node addon ... is not placeable in ESM chunks").
// Copies what `npm pack` ships (package.json "files", and the published manifest) plus the built
// .node for this platform. Runs after every `npm install` here too (package.json postinstall).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { publishedManifest } = require('./manifest');

const root = path.resolve(__dirname, '..');
const dest = path.join(root, 'node_modules', 'agent-circuit-breaker');
// Built beside it, then swapped in by renames: a server loading the package meanwhile (npm run dev
// reinstalls it while next runs) never finds it half copied.
const staging = `${dest}.installing-${process.pid}`;
const old = `${dest}.old-${process.pid}`;
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

const wanted = (rel) =>
  rel === 'package.json' ||
  rel.endsWith('.node') && !rel.includes('/') ||
  pkg.files.some((pattern) => {
    const re = new RegExp(`^${pattern.replace(/\./g, '\\.').replace(/\*/g, '[^/]*')}$`);
    return re.test(rel);
  });

function walk(dir, rel = '') {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (['node_modules', 'target', '.next', '.git', 'pack'].includes(entry.name)) continue;
      walk(path.join(dir, entry.name), r);
    } else if (wanted(r)) {
      const to = path.join(staging, r);
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(path.join(dir, entry.name), to);
    }
  }
}

// `--if-built` (the postinstall hook: any `npm install` here deletes the copy) puts it back when there
// is a build to copy, and otherwise says what will.
const ifBuilt = process.argv.includes('--if-built');
const built = fs.readdirSync(root).some((f) => f.endsWith('.node')) && fs.existsSync(path.join(root, pkg.main));
if (!built) {
  if (ifBuilt) {
    console.log(`${pkg.name} is not built yet: \`npm run build:app\` builds it and installs it into node_modules for the app`);
    process.exit(0);
  }
  console.error('no built .node next to index.js, or no compiled lib/: run `npm run build` first');
  process.exit(1);
}
fs.rmSync(staging, { recursive: true, force: true });
walk(root);
// The manifest a user installs, exports map included (scripts/manifest.js says why it is not in ours).
fs.writeFileSync(path.join(staging, 'package.json'), `${JSON.stringify(publishedManifest(pkg), null, 2)}\n`);
if (fs.existsSync(dest)) fs.renameSync(dest, old);
fs.renameSync(staging, dest);
fs.rmSync(old, { recursive: true, force: true });
console.log(`installed ${pkg.name}@${pkg.version} into ${path.relative(root, dest)}`);
