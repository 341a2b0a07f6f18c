/**
 * The app's HTTP helpers without a server: token rules, the diagnostics sentences, and the
 * Prometheus families added to a user's own prom-client registry.
 */

import { Counter, Registry } from 'prom-client';
import { AgentCircuitBreaker, MARKETPLACE_AGENTS, ManualClock } from 'agent-circuit-breaker';
import { bearerMatches, denyOperator, denyReader } from '../../app/lib/http/auth';
import { diagnose, diagnostics } from '../../app/lib/http/diagnostics';
import { registerCircuitMetrics } from 'agent-circuit-breaker/prometheus';

const req = (authorization?: string) =>
  new Request('http://127.0.0.1/x', { headers: authorization ? { authorization } : {} });

describe('access', () => {
  test('bearer tokens must match exactly', () => {
    expect(bearerMatches('Bearer s3cret', 's3cret')).toBe(true);
    expect(bearerMatches('bearer s3cret', 's3cret')).toBe(true);
    for (const bad of [null, '', 'Bearer ', 'Bearer s3cre', 'Bearer s3cret2', 's3cret', 'Basic s3cret']) {
      expect(bearerMatches(bad, 's3cret')).toBe(false);
    }
  });

  test('diagnostics are open without a token and need it when one is set', () => {
    expect(denyReader(req(), {})).toBeUndefined();
    expect(denyReader(req(), { DIAGNOSTICS_TOKEN: 't' })?.status).toBe(401);
    expect(denyReader(req('Bearer t'), { DIAGNOSTICS_TOKEN: 't' })).toBeUndefined();
  });

  test('operator actions are off when no token is set', async () => {
    const off = denyOperator(req('Bearer anything'), {});
    expect(off?.status).toBe(403);
    expect(((await off!.json()) as { error: string }).error).toMatch(/set DIAGNOSTICS_TOKEN/);
    expect(denyOperator(req(), { DIAGNOSTICS_TOKEN: 't' })?.status).toBe(401);
    expect(denyOperator(req('Bearer t'), { DIAGNOSTICS_TOKEN: 't' })).toBeUndefined();
  });
});

describe('diagnostics', () => {
  test('each state reads as one plain sentence with times in ISO', async () => {
    const clock = new ManualClock();
    const breakers = new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS, clock });
    const none = { cached: 0, empty: 0 };
    expect(diagnose(breakers.status('amazon'), none).recommendation).toBe('healthy');
    const timeout = Object.assign(new Error('slow'), { circuitReason: 'timeout' });
    for (let i = 0; i < 2; i++) await breakers.execute('amazon', () => Promise.reject(timeout)).catch(() => undefined);
    expect(diagnose(breakers.status('amazon'), none).recommendation).toBe(
      'degraded: 2 of 5 consecutive failures before it opens (last: timeout)',
    );
    for (let i = 0; i < 3; i++) await breakers.execute('amazon', () => Promise.reject(timeout)).catch(() => undefined);
    clock.advance(18_000);
    const wallNow = Date.parse('2026-01-01T08:00:18Z');
    const open = diagnose(breakers.status('amazon'), none, wallNow);
    expect(open).toMatchObject({
      state: 'OPEN',
      since: '2026-01-01T08:00:00.000Z',
      recoveryTimeRemainingMs: 42_000,
      retryAt: '2026-01-01T08:01:00.000Z',
      recommendation: 'open after 5 consecutive timeouts: retry after 42 s (08:01:00Z)',
      lastFailure: { reason: 'timeout', at: '2026-01-01T08:00:00.000Z' },
    });
    clock.advance(42_000);
    await breakers.execute('amazon', async () => 1);
    expect(diagnose(breakers.status('amazon'), none).recommendation).toBe('half-open: probing, 1 of 2 successes');
  });
});

describe('Prometheus', () => {
  test("the families join a user's existing registry and read the breakers at scrape time", async () => {
    const registry = new Registry();
    new Counter({ name: 'app_requests_total', help: 'The app own metric.', registers: [registry] });
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'] });
    registerCircuitMetrics({ breakers }, registry);
    expect(await registry.metrics()).toContain('agent_circuit_state{agent="amazon",state="CLOSED"} 1');
    breakers.forceOpen('amazon');
    const text = await registry.metrics();
    expect(text).toContain('app_requests_total 0');
    expect(text).toContain('agent_circuit_state{agent="amazon",state="OPEN"} 1');
    expect(text).toMatch(/agent_circuit_open_remaining_seconds\{agent="amazon"\} (59\.\d+|60)/);
  });
});

describe('agent ids named like Object.prototype members (issue 10, point 14)', () => {
  test('the diagnostics document lists every agent, __proto__ and constructor included', () => {
    const breakers = new AgentCircuitBreaker({ agents: ['amazon'], clock: new ManualClock() });
    const ids = ['__proto__', 'constructor', 'toString'];
    const loop = {
      getAllCircuitBreakerStatus: () => ids.map((agent) => ({ ...breakers.status('amazon'), agent })),
      fallbacksServed: () => ({ cached: 0, empty: 0 }),
    } as unknown as Parameters<typeof diagnostics>[0];
    const doc = JSON.parse(JSON.stringify(diagnostics(loop))) as { agents: Record<string, { state: string }> };
    expect(Object.keys(doc.agents)).toEqual(ids);
    for (const id of ids) expect(Object.getOwnPropertyDescriptor(doc.agents, id)?.value).toMatchObject({ state: 'CLOSED' });
  });
});
