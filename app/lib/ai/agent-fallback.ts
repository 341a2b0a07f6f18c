/**
 * Building a call's result: the agent's analysis or a fallback (the cached analysis, else
 * `{ phases: [] }`), each with the wrapper's fields set and the agent's own fields of those names dropped.
 */

import { parseAnalysis } from './agent-http';
import type { AgentAnalysis, AgentFallback, FallbackReason } from './agent-types';
import type { Analysis, CacheEntry } from './fallback-cache';

/** The fields `callAgent` sets on every result; an agent's own fields of these names are dropped. */
const WRAPPER_FIELDS = ['fallback', 'fallbackReason', 'cached', 'cachedAt'] as const;

/** `analysis` (a fresh parse, owned by this call) with the wrapper's fields, the agent's own of those names dropped. */
function wrap<T extends object>(analysis: Analysis, fields: T): Analysis & T {
  for (const field of WRAPPER_FIELDS) if (Object.hasOwn(analysis, field)) delete analysis[field];
  return Object.assign(analysis, fields);
}

/** The agent's own analysis as a result: `fallback: false`, `cached: false`. */
export function analysisResult(analysis: Analysis): AgentAnalysis {
  return wrap(analysis, { fallback: false as const, cached: false as const });
}

/** The fallback for `reason`: the entry's analysis (`cached: true`) if there is one that parses, else `{ phases: [] }`. */
export function fallbackFrom(entry: CacheEntry | undefined, reason: FallbackReason): AgentFallback {
  const analysis = entry && parseAnalysis(entry.body);
  if (entry && analysis) {
    return wrap(analysis, { fallback: true as const, fallbackReason: reason, cached: true, cachedAt: entry.cachedAt });
  }
  return { phases: [], fallback: true, fallbackReason: reason, cached: false };
}
