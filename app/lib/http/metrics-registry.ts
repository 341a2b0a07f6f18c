/**
 * The process's Prometheus registries for the app, created once and kept on `globalThis`: one for
 * Prometheus text, one for OpenMetrics, over the same breakers and one call-duration histogram.
 */

import { Registry, type OpenMetricsContentType } from 'prom-client';
import { registerCircuitMetrics, stopCallDurations, type CircuitMetricsSource } from 'agent-circuit-breaker/prometheus';
import { getAgentLoop } from '../ai/agent-loop';
import { loopMetricsSource } from '../ai/metrics-source';

const GLOBAL = Symbol.for('agent-circuit-breaker.metrics-registry');
type Registries = { text: Registry; openMetrics: Registry<OpenMetricsContentType>; source: CircuitMetricsSource };
type Holder = { [GLOBAL]?: Registries };


/**
 * The registry the metrics route serves: OpenMetrics when the scraper's `Accept` header asks for
 * `application/openmetrics-text`, else Prometheus text.
 */
export function metricsRegistry(accept: string | null = null): Registry | Registry<OpenMetricsContentType> {
  const holder = globalThis as Holder;
  const registries = (holder[GLOBAL] ??= (() => {
    const from = loopMetricsSource(getAgentLoop);
    return {
      // The agents' calls take milliseconds: the call-duration histogram's cost per call is noise here.
      text: registerCircuitMetrics(from, undefined, { callDurations: true }),
      openMetrics: registerCircuitMetrics(from, openMetricsRegistry(), { callDurations: true }),
      source: from,
    };
  })());
  return wantsOpenMetrics(accept) ? registries.openMetrics : registries.text;
}

/** Stops the registries' call-duration subscription and forgets them; the next `metricsRegistry()` makes new ones. */
export function closeMetricsRegistry(): void {
  const holder = globalThis as Holder;
  if (holder[GLOBAL]) stopCallDurations(holder[GLOBAL].source);
  delete holder[GLOBAL];
}

/** An empty registry that writes OpenMetrics. */
export function openMetricsRegistry(): Registry<OpenMetricsContentType> {
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  return registry;
}

/**
 * Whether an `Accept` header prefers OpenMetrics: its q (default 1) above 0 and at least that of
 * the text format (`text/plain`, `text/*` or `*\/*`), as Prometheus's own header asks.
 */
export function wantsOpenMetrics(accept: string | null): boolean {
  let openMetrics = 0;
  let text = 0;
  for (const range of (accept ?? '').split(',')) {
    const [type, ...params] = range.split(';').map((s) => s.trim().toLowerCase());
    const qParam = params.map((p) => p.split('=').map((s) => s.trim())).find(([k]) => k === 'q');
    const q = qParam ? Number(qParam[1]) || 0 : 1;
    if (type === 'application/openmetrics-text') openMetrics = Math.max(openMetrics, q);
    else if (type === 'text/plain' || type === 'text/*' || type === '*/*') text = Math.max(text, q);
  }
  return openMetrics > 0 && openMetrics >= text;
}
