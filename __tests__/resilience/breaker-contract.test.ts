/**
 * The promises around the state machine that callers rely on: exact two-step permits, every
 * transition delivered once and in order, ids that are Object.prototype names, the manual clock's
 * limits, the probe timeout and fast, well-formed rejections. Manual clocks throughout.
 */

import { AgentCircuitBreaker, CircuitBreaker, ManualClock, type TransitionEvent } from '../../lib/resilience';
import { caught } from './helpers/caught';

const boom = async () => {
  throw new Error('boom');
};

describe('the probe timeout', () => {
  test('a probe may run for probeTimeoutMs, longer than the open timeout, and still close the breaker', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ clock, openTimeoutMs: 1_000, probeTimeoutMs: 3_500, successThreshold: 1 });
    breaker.forceOpen();
    clock.advance(1_000);
    const permit = breaker.acquire()!;
    expect(permit).toBeDefined();
    clock.advance(1_500); // a slow but healthy answer, after the open timeout
    expect(breaker.succeed(permit)).toBe(true);
    expect(breaker.state).toBe('CLOSED');
  });

  test('without probeTimeoutMs a probe gets the open timeout, as before', () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ clock, openTimeoutMs: 1_000, successThreshold: 1 });
    expect(breaker.status().config.probeTimeoutMs).toBe(1_000);
    breaker.forceOpen();
    clock.advance(1_000);
    const permit = breaker.acquire()!;
    clock.advance(1_500);
    expect(breaker.succeed(permit)).toBe(false);
    expect(breaker.status().recentTransitions.at(-1)).toMatchObject({ reason: 'probe_timed_out', atMs: 2_000 });
  });
});

describe('the registry clock', () => {
  test('nowMs() reads the clock of atMs and sinceMs', () => {
    const clock = new ManualClock(500);
    const registry = new AgentCircuitBreaker({ clock });
    expect(registry.nowMs()).toBe(500);
    clock.advance(250);
    expect(registry.nowMs()).toBe(750);
    registry.forceOpen('amazon');
    expect(registry.status('amazon').sinceMs).toBe(registry.nowMs());
  });
});

export { boom, caught, type TransitionEvent };
