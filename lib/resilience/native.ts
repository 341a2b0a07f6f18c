/**
 * Loads the native addon through the generated loader (`index.js`), and turns a missing binary into
 * one clear error naming the platform and the fix.
 */

import type * as Native from '../../index';
import type { ErrorCode } from './contract';

/** The platform package suffix napi-rs uses for this machine, e.g. `linux-x64-gnu`. */
export function platformName(): string {
  const { platform, arch } = process;
  if (platform === 'linux') {
    const report = process.report?.getReport?.() as { header?: { glibcVersionRuntime?: string } } | undefined;
    return `linux-${arch}-${report?.header?.glibcVersionRuntime ? 'gnu' : 'musl'}`;
  }
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

/** Where the source is, for a platform without a prebuilt package. */
const SOURCE = 'https://github.com/agent-circuit-breaker/agent-circuit-breaker';

function load(): typeof Native {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('../../index') as typeof Native;
  } catch (cause) {
    const name = platformName();
    const error = new Error(
      `agent-circuit-breaker has no native binary for ${name}: the optional dependency ` +
        `agent-circuit-breaker-${name} is not installed. Reinstall without --omit=optional ` +
        `(npm install agent-circuit-breaker), or, on a platform without a prebuilt package, build from ` +
        `source with Rust: ${SOURCE} (npm ci && npm run build).`,
      { cause },
    );
    (error as Error & { code: ErrorCode }).code = 'ERR_NATIVE_BINDING_MISSING';
    throw error;
  }
}

const native = load();

/** See `index.d.ts`. */
export const ManualClock = native.ManualClock;
export type ManualClock = Native.ManualClock;
/** See `index.d.ts`. */
export const NativeRegistry = native.NativeRegistry;
export type NativeRegistry = Native.NativeRegistry;
