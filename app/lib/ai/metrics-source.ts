/**
 * What the app's metrics exporters (Prometheus and OpenTelemetry) read: the agent loop's breakers,
 * its fallbacks served and, in fleet mode, its fleet link, looked up through `current` at each read.
 */

import type { CircuitMetricsSource } from 'agent-circuit-breaker/prometheus';
import type { AgentLoop } from './agent-loop';

/** The metrics source over the loop `current` returns; the fleet families exist only in fleet mode. */
export function loopMetricsSource(current: () => AgentLoop): CircuitMetricsSource {
  return {
    breakers: { metricsTable: () => current().breakers.metricsTable() },
    fallbacks: (agent) => current().fallbacksServed(agent),
    ...(current().fleet ? { fleet: () => current().fleet?.status() } : {}),
  };
}
