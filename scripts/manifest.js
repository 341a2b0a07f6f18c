// The package.json that ships: this repository's, without its scripts, devDependencies and
// overrides, with exact-version optionalDependencies on the platform packages (one per
// package.json napi.targets entry, named as napi names them), and with the `exports` map.
//
// Why the map is added here and not written in the repository's package.json: the app at the
// repository root imports the package by name, and with `exports` in the root package.json Node and
// Turbopack resolve that name to the project itself (package self-reference), so Next would bundle
// the native addon ("not placeable in ESM chunks"). Without it the root is an ordinary project; the
// copy in node_modules/agent-circuit-breaker (scripts/install-self.js) gets this manifest, so the
// app resolves the package through the same map a user's app does.
//
// Not `publishConfig.exports`: pnpm and yarn swap such fields in when they publish, but npm (11,
// which the release workflow publishes with, for --provenance) ships publishConfig untouched.
'use strict';

/** Where runtimes without Node-API (edge, workers, browsers) land: a module that throws one clear error. */
const UNSUPPORTED = './lib/resilience/unsupported.js';

/** One entry: its types, the stub for other runtimes, then the CommonJS file for require and import. */
function entry(types, file) {
  return { types, 'edge-light': UNSUPPORTED, worker: UNSUPPORTED, browser: UNSUPPORTED, require: file, import: file, default: file };
}

/** The exports map: the root, the subpath entries and package.json; nothing else is importable. */
const EXPORTS = {
  '.': entry('./lib/resilience/index.d.ts', './lib/resilience/index.js'),
  './fleet': entry('./fleet.d.ts', './fleet.js'),
  './prometheus': entry('./prometheus.d.ts', './prometheus.js'),
  './otel': entry('./otel.d.ts', './otel.js'),
  './package.json': './package.json',
};

/** The platform of each of `pkg.napi.targets` as napi names it (`linux-x64-gnu`): its npm/ folder and package suffix. */
function platformsOf(pkg) {
  const { parseTriple } = require('@napi-rs/cli');
  return pkg.napi.targets.map((target) => parseTriple(target).platformArchABI);
}

/** The published manifest of `pkg` (the repository's package.json). */
function publishedManifest(pkg) {
  const { devDependencies, scripts, overrides, ...published } = pkg;
  const out = {};
  for (const [key, value] of Object.entries(published)) {
    out[key] = value;
    if (key === 'license') out.type = 'commonjs';
    if (key === 'types') out.exports = EXPORTS;
  }
  out.optionalDependencies = Object.fromEntries(platformsOf(pkg).map((p) => [`${pkg.name}-${p}`, pkg.version]));
  return out;
}

module.exports = { platformsOf, publishedManifest };
