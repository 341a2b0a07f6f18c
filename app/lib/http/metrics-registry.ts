/** The process's Prometheus registry for the app, created once and kept on `globalThis`. */

import type { Registry } from 'prom-client';
import { getAgentLoop } from '../ai/agent-loop';
import { registerCircuitMetrics } from './prometheus';

const GLOBAL = Symbol.for('agent-circuit-breaker.metrics-registry');
type Holder = { [GLOBAL]?: Registry };

/** The registry the metrics route serves. */
export function metricsRegistry(): Registry {
  const holder = globalThis as Holder;
  return (holder[GLOBAL] ??= registerCircuitMetrics({
    breakers: { metricsTable: () => getAgentLoop().breakers.metricsTable() },
    fallbacks: (agent) => getAgentLoop().fallbacksServed(agent),
    // Fleet mode's families appear only when it is on.
    ...(getAgentLoop().fleet ? { fleet: () => getAgentLoop().fleet?.status() } : {}),
  }));
}
