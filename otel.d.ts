// `agent-circuit-breaker/otel`: OpenTelemetry metrics for the breakers (@opentelemetry/api). See lib/resilience/otel.ts.
export * from './lib/resilience/otel';
