/**
 * The diagnostics document: per agent, the breaker's state in words an operator can act on, and its
 * metrics. Built from the native status snapshots and the agent loop's fallback counts.
 */

import { FAILURE_WORDING, type BreakerStatus, type FailureReason } from 'agent-circuit-breaker';
import type { FleetAgentStatus, FleetStatus } from 'agent-circuit-breaker/fleet';
import type { AgentLoop } from '../ai/agent-loop';

/** One agent's diagnostics. */
export interface AgentDiagnostics {
  state: BreakerStatus['state'];
  since: string;
  consecutiveFailures: number;
  /** Consecutive failures that open the breaker (its `config.failureThreshold`). */
  failureThreshold: number;
  recoveryTimeRemainingMs: number | null;
  retryAt: string | null;
  recommendation: string;
  /** Fleet mode: whether this agent's state is shared, the origin of the last remote transition, the probe lease holders. */
  fleet: FleetAgentStatus | null;
  lastFailure: { reason: FailureReason; at: string } | null;
  /** The last few transitions, oldest first, with wall-clock ISO times. */
  recentTransitions: RecentTransition[];
  metrics: {
    calls: number;
    successes: number;
    failures: number;
    failuresByReason: Record<FailureReason, number>;
    rejections: number;
    fallbacksServed: { cached: number; empty: number };
    errorRate: BreakerStatus['errorRate'];
    transitions: Record<string, number>;
    recoveryTimeMs: { count: number; last: number | null; mean: number | null; max: number | null };
  };
}

/** One recent transition of an agent's breaker; `at` is a wall-clock ISO time. */
export interface RecentTransition {
  from: BreakerStatus['state'];
  to: BreakerStatus['state'];
  reason: BreakerStatus['recentTransitions'][number]['reason'];
  at: string;
}

const hhmmss = (iso: string) => `${iso.slice(11, 19)}Z`;

/** One plain sentence: what the breaker is doing and what to do about it. */
export function recommend(s: BreakerStatus, retryAt: string | null, fleet: FleetAgentStatus | null = null): string {
  const last = s.lastFailure?.reason;
  switch (s.state) {
    case 'CLOSED':
      if (s.consecutiveFailures === 0) return 'healthy';
      return `degraded: ${s.consecutiveFailures} of ${s.config.failureThreshold} consecutive failures before it opens (last: ${last ?? 'error'})`;
    case 'OPEN': {
      if (s.isolations > 0) return 'open: forced open by an operator, held until reset (POST .../reset)';
      const wait = `retry after ${Math.ceil(s.openRemainingMs / 1000)} s (${hhmmss(retryAt!)})`;
      const why = s.recentTransitions.at(-1)?.reason;
      if (why === 'forced_open') return `open: forced open by an operator; ${wait}`;
      if (why === 'remote_open') return `open fleet-wide: opened by instance ${fleet?.lastRemote?.origin ?? 'another instance'}; ${wait}`;
      const count = s.consecutiveFailures;
      return `open after ${count} consecutive ${count === 1 ? (last ?? 'failure') : FAILURE_WORDING[last ?? 'error']}: ${wait}`;
    }
    case 'HALF_OPEN':
      if (fleet?.shared && s.probesInFlight === 0 && fleet.leaseHolders.length > 0) {
        return `half-open: instance ${fleet.leaseHolders.join(', ')} probes for the fleet; fallbacks here until it reports`;
      }
      return `half-open: probing, ${s.halfOpenSuccesses} of ${s.config.successThreshold} successes`;
  }
}

/** The diagnostics of one agent, with clock times turned into wall-clock ISO times. */
export function diagnose(s: BreakerStatus, fallbacks: { cached: number; empty: number }, wallNow = Date.now(), fleet: FleetAgentStatus | null = null): AgentDiagnostics {
  const wall = (clockMs: number) => new Date(wallNow - (s.nowMs - clockMs)).toISOString();
  // An isolated breaker stays OPEN until released: there is no time at which it recovers by itself.
  const timed = s.state === 'OPEN' && s.isolations === 0;
  const retryAt = timed ? new Date(wallNow + s.openRemainingMs).toISOString() : null;
  const r = s.recovery;
  return {
    state: s.state,
    since: wall(s.sinceMs),
    consecutiveFailures: s.consecutiveFailures,
    failureThreshold: s.config.failureThreshold,
    recoveryTimeRemainingMs: timed ? s.openRemainingMs : null,
    retryAt,
    recommendation: recommend(s, retryAt, fleet),
    fleet,
    lastFailure: s.lastFailure ? { reason: s.lastFailure.reason, at: wall(s.lastFailure.atMs) } : null,
    recentTransitions: s.recentTransitions.map((t) => ({ from: t.from, to: t.to, reason: t.reason, at: wall(t.atMs) })),
    metrics: {
      calls: s.calls.admitted,
      successes: s.calls.successes,
      failures: s.calls.failures,
      failuresByReason: s.calls.failuresByReason,
      rejections: s.calls.rejections,
      fallbacksServed: fallbacks,
      errorRate: s.errorRate,
      transitions: Object.fromEntries(s.transitions.map((t) => [`${t.from}->${t.to}`, t.count])),
      recoveryTimeMs: {
        count: r.count,
        last: r.lastMs,
        mean: r.count > 0 ? r.sumMs / r.count : null,
        max: r.count > 0 ? r.maxMs : null,
      },
    },
  };
}

/** Fleet mode's link in the diagnostics document. */
export type FleetLink = Omit<FleetStatus, 'agents'>;

/** The document `GET /api/marketplace/diagnostics` answers. */
export interface DiagnosticsDocument {
  generatedAt: string;
  fleet: FleetLink | null;
  agents: Record<string, AgentDiagnostics>;
}

/** The whole document: `generatedAt`, the fleet link (null when fleet mode is off) and every agent. */
export function diagnostics(loop: AgentLoop): DiagnosticsDocument {
  const now = Date.now();
  const { agents: shared = {}, ...link } = loop.fleet?.status() ?? {};
  // Object.fromEntries defines own properties: an agent named "__proto__" is an entry, not a prototype.
  const agents: Record<string, AgentDiagnostics> = Object.fromEntries(
    loop.getAllCircuitBreakerStatus().map((s) => [s.agent, diagnose(s, loop.fallbacksServed(s.agent), now, Object.hasOwn(shared, s.agent) ? shared[s.agent] : null)]),
  );
  return { generatedAt: new Date(now).toISOString(), fleet: loop.fleet ? (link as FleetLink) : null, agents };
}
