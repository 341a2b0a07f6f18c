// `agent-circuit-breaker/fleet`: fleet sync (breaker state shared through Redis). See lib/resilience/fleet.ts.
export * from './lib/resilience/fleet';
