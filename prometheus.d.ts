// `agent-circuit-breaker/prometheus`: Prometheus metrics for the breakers (prom-client). See lib/resilience/prometheus.ts.
export * from './lib/resilience/prometheus';
