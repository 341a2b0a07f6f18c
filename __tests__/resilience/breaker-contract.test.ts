/**
 * The promises around the state machine that callers rely on: exact two-step permits, every
 * transition delivered once and in order, ids that are Object.prototype names, the manual clock's
 * limits, the probe timeout and fast, well-formed rejections. Manual clocks throughout.
 */

import fc from 'fast-check';
import { AgentCircuitBreaker, MARKETPLACE_AGENTS, CircuitBreaker, ManualClock, type BreakerStatus, type TransitionEvent } from '../../lib/resilience';
import { caught } from './helpers/caught';

/** The accounting identity every status keeps: each admitted call is in exactly one bucket. */
function accounted(s: BreakerStatus): boolean {
  const c = s.calls;
  return c.admitted === c.successes + c.failures + c.released + c.lateOutcomes + c.abandoned + c.inFlight;
}

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
    const registry = new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS, clock });
    expect(registry.nowMs()).toBe(500);
    clock.advance(250);
    expect(registry.nowMs()).toBe(750);
    registry.forceOpen('amazon');
    expect(registry.status('amazon').sinceMs).toBe(registry.nowMs());
  });
});

describe('two-step permits are exact in every state', () => {
  test('a CLOSED permit failed five times is one failure and cannot open the breaker', () => {
    const breaker = new CircuitBreaker({ clock: new ManualClock() });
    const permit = breaker.acquire()!;
    expect(breaker.fail(permit)).toBe(true);
    for (let i = 0; i < 4; i++) expect(breaker.fail(permit)).toBe(false);
    const s = breaker.status();
    expect(s.state).toBe('CLOSED');
    expect([s.consecutiveFailures, s.calls.failures, s.calls.admitted, s.calls.inFlight]).toEqual([1, 1, 1, 0]);
  });

  test('a stale permit is late once, then ignored; a permit never issued changes nothing', () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ clock });
    const permit = breaker.acquire()!;
    breaker.forceOpen();
    expect(breaker.succeed(permit)).toBe(false);
    expect(breaker.succeed(permit)).toBe(false);
    expect(breaker.status().calls.lateOutcomes).toBe(1);
    const before = breaker.status().calls;
    expect(breaker.release(permit + 1)).toBe(false); // never issued
    expect(breaker.fail(0)).toBe(false); // token 0 belongs to execute's own calls
    expect(breaker.status().calls).toEqual(before);
  });

  test('over random sequences with double reports and stale permits, every admitted call is accounted for', async () => {
    const op = fc.oneof(
      fc.constant({ kind: 'acquire' as const }),
      fc.record({ kind: fc.constant('report' as const), i: fc.nat(), how: fc.constantFrom('succeed', 'fail', 'release') }),
      fc.record({ kind: fc.constant('execute' as const), ok: fc.boolean() }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 150 }) }),
      fc.constantFrom({ kind: 'forceOpen' as const }, { kind: 'reset' as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 80 }), async (ops) => {
        const clock = new ManualClock();
        const breaker = new CircuitBreaker({ clock, failureThreshold: 3, openTimeoutMs: 100, successThreshold: 2 });
        const permits: number[] = [];
        const reported = new Set<number>();
        for (const o of ops) {
          if (o.kind === 'acquire') {
            const p = breaker.acquire();
            if (p !== undefined) permits.push(p);
          } else if (o.kind === 'report' && permits.length > 0) {
            const p = permits[o.i % permits.length];
            const before = breaker.status().calls;
            const counted = breaker[o.how](p);
            if (reported.has(p)) {
              expect(counted).toBe(false); // a second report
              expect(breaker.status().calls).toEqual(before); // changes nothing
            }
            reported.add(p);
          } else if (o.kind === 'execute') {
            await breaker.execute(o.ok ? () => 1 : boom, () => 0).catch(() => 0);
          } else if (o.kind === 'advance') {
            clock.advance(o.ms);
          } else if (o.kind === 'forceOpen') {
            breaker.forceOpen();
          } else if (o.kind === 'reset') {
            breaker.reset(); // abandons the permits not yet reported
            for (const p of permits) reported.add(p);
          }
          const s = breaker.status();
          expect(accounted(s)).toBe(true);
          expect(s.calls.inFlight).toBe(permits.filter((p) => !reported.has(p)).length);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('every transition reaches every listener once, in order', () => {
  test('2,000 breakers past their open timeout, one status read: 2,000 events, none lost', () => {
    const clock = new ManualClock();
    const agents = Array.from({ length: 2_000 }, (_, i) => `agent-${i}`);
    const registry = new AgentCircuitBreaker({ agents, maxAgents: 2_000, clock });
    for (const id of agents) registry.forceOpen(id);
    const seen: TransitionEvent[] = [];
    registry.onTransition((e) => seen.push(e));
    clock.advance(60_000);
    registry.statusAll();
    expect(seen).toHaveLength(2_000);
    expect(new Set(seen.map((e) => e.agent)).size).toBe(2_000);
    expect(seen.every((e) => e.from === 'OPEN' && e.to === 'HALF_OPEN' && e.atMs === 60_000)).toBe(true);
  });

  test('a listener that resets the breaker: the next listener still sees CLOSED→OPEN before OPEN→CLOSED', async () => {
    const breaker = new CircuitBreaker({ clock: new ManualClock(), failureThreshold: 1 });
    const first: string[] = [];
    const second: string[] = [];
    breaker.onTransition((e) => {
      first.push(`${e.from}->${e.to}`);
      if (e.to === 'OPEN') breaker.reset();
    });
    breaker.onTransition((e) => second.push(`${e.from}->${e.to}`));
    await breaker.execute(boom).catch(() => undefined);
    expect(first).toEqual(['CLOSED->OPEN', 'OPEN->CLOSED']);
    expect(second).toEqual(first);
    expect(breaker.state).toBe('CLOSED');
  });
});

test('a listener that causes 100,000 transitions in a row: all delivered in order, no stack overflow', () => {
  const breaker = new CircuitBreaker({ clock: new ManualClock() });
  const reasons: string[] = [];
  breaker.onTransition((e) => {
    reasons.push(`${e.from}->${e.to}`);
    if (reasons.length < 100_000) breaker.forceOpen();
  });
  breaker.forceOpen();
  expect(reasons).toHaveLength(100_000);
  expect(reasons.slice(0, 2)).toEqual(['CLOSED->OPEN', 'OPEN->OPEN']);
  expect(breaker.status().transitions).toEqual([
    { from: 'CLOSED', to: 'OPEN', count: 1 },
    { from: 'OPEN', to: 'OPEN', count: 99_999 },
  ]);
});

describe('ids that are Object.prototype names', () => {
  const names = ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf'];

  test('work as agents, with and without overrides', async () => {
    const overrides = JSON.parse('{"__proto__": {"failureThreshold": 1}}') as Record<string, { failureThreshold: number }>;
    const registry = new AgentCircuitBreaker({ agents: names, overrides, clock: new ManualClock() });
    expect(registry.agents()).toEqual(names);
    for (const id of names) await expect(registry.execute(id, async () => id)).resolves.toBe(id);
    expect(registry.status('__proto__').config.failureThreshold).toBe(1);
    expect(registry.status('constructor').config.failureThreshold).toBe(5);
    await registry.execute('__proto__', boom).catch(() => undefined);
    expect(registry.state('__proto__')).toBe('OPEN');
    expect(registry.state('toString')).toBe('CLOSED');
  });

  test('an unknown id that is an Object.prototype name is still unknown', async () => {
    const registry = new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS, clock: new ManualClock() });
    expect((await caught(() => registry.get('constructor'))).code).toBe('ERR_UNKNOWN_AGENT');
    expect(registry.has('toString')).toBe(false);
  });
});

describe('the manual clock near 2^53', () => {
  test('advance past Number.MAX_SAFE_INTEGER is refused and the clock stays', async () => {
    const clock = new ManualClock(Number.MAX_SAFE_INTEGER - 10);
    const err = await caught(() => clock.advance(11));
    expect(err.code).toBe('ERR_INVALID_ARG');
    expect(err.message).toContain('MAX_SAFE_INTEGER');
    expect(clock.nowMs).toBe(Number.MAX_SAFE_INTEGER - 10);
    expect(clock.advance(10)).toBe(Number.MAX_SAFE_INTEGER);
  });

  test('an open deadline past the clock maximum never wraps: the breaker stays OPEN', () => {
    const clock = new ManualClock(Number.MAX_SAFE_INTEGER - 30_000);
    const breaker = new CircuitBreaker({ clock });
    breaker.forceOpen();
    clock.advance(30_000);
    expect(breaker.state).toBe('OPEN');
    expect(breaker.openRemainingMs).toBe(30_000);
  });
});

describe('rejections', () => {
  test('an OPEN rejection is a CircuitOpenError with the time remaining and no stack frames', async () => {
    const breaker = new CircuitBreaker({ name: 'amazon', openTimeoutMs: 60_000 });
    breaker.forceOpen();
    for (let i = 0; i < 3; i++) {
      const err = (await caught(() => breaker.execute(async () => 1))) as Error & Record<string, unknown>;
      expect(err).toBeInstanceOf(Error);
      expect(err.name).toBe('CircuitOpenError');
      expect([err.code, err.agent, err.state]).toEqual(['ERR_CIRCUIT_OPEN', 'amazon', 'OPEN']);
      expect(err.retryAfterMs).toBeGreaterThan(50_000);
      expect(err.retryAfterMs).toBeLessThanOrEqual(60_000);
      expect(err.message).toMatch(/^circuit for agent "amazon" is open; retry after \d+ ms$/);
      expect(err.stack).not.toMatch(/\n\s+at /);
    }
    // Rejections decided in JavaScript are counted like the native ones.
    expect(breaker.status().calls.rejections).toBe(3);
  });

  test('rejected in JavaScript, counted exactly, and a reset ends it at once', async () => {
    const breaker = new CircuitBreaker({ openTimeoutMs: 60_000 });
    breaker.forceOpen();
    let calls = 0;
    const fn = async () => ++calls;
    for (let i = 0; i < 10_000; i++) await breaker.execute(fn, () => 0); // past the fold-in interval
    expect(breaker.status().calls.rejections).toBe(10_000);
    breaker.reset();
    await expect(breaker.execute(fn, () => 0)).resolves.toBe(1);
    breaker.forceOpen();
    await expect(breaker.execute(fn, () => 0)).resolves.toBe(0);
    expect(calls).toBe(1);
  });

  test('once the open timeout has passed, the next call is a probe', async () => {
    const breaker = new CircuitBreaker({ openTimeoutMs: 20, successThreshold: 1 });
    breaker.forceOpen();
    await expect(breaker.execute(async () => 'probe', () => 'fallback')).resolves.toBe('fallback');
    const until = Date.now() + 40;
    while (Date.now() < until); // real time must pass: this breaker is on the monotonic clock
    await expect(breaker.execute(async () => 'probe', () => 'fallback')).resolves.toBe('probe');
    expect(breaker.state).toBe('CLOSED');
  });

  test('a fallback that throws rejects the call with its error', async () => {
    const breaker = new CircuitBreaker();
    breaker.forceOpen();
    const oops = new Error('fallback failed');
    for (let i = 0; i < 2; i++) {
      await expect(breaker.execute(async () => 1, () => {
        throw oops;
      })).rejects.toBe(oops);
    }
  });
});

describe('what a review found (red team)', () => {
  test('a slow listener does not stretch how long JavaScript rejects by itself', async () => {
    const breaker = new CircuitBreaker({ openTimeoutMs: 60, probeTimeoutMs: 20, successThreshold: 1 });
    const spin = (ms: number) => {
      const until = Date.now() + ms;
      while (Date.now() < until);
    };
    breaker.forceOpen();
    spin(65);
    expect(breaker.acquire()).toBeDefined(); // a probe that never reports
    spin(25); // past its deadline: the next admission reopens the breaker (probe_timed_out)
    let reopenedAt = 0;
    breaker.onTransition((e) => {
      if (e.reason === 'probe_timed_out') {
        reopenedAt = Date.now();
        spin(100); // a slow listener, inside the rejecting call
      }
    });
    await expect(breaker.execute(async () => 'probe', () => 'fallback')).resolves.toBe('fallback');
    expect(reopenedAt).toBeGreaterThan(0);
    spin(Math.max(0, reopenedAt + 70 - Date.now())); // the 60 ms open timeout has passed
    await expect(breaker.execute(async () => 'probe', () => 'fallback')).resolves.toBe('probe');
  });

  test('a frozen Error.stackTraceLimit still gives a CircuitOpenError, never a TypeError', async () => {
    const original = Object.getOwnPropertyDescriptor(Error, 'stackTraceLimit')!;
    const breaker = new CircuitBreaker({ openTimeoutMs: 60_000 });
    breaker.forceOpen();
    Object.defineProperty(Error, 'stackTraceLimit', { value: 10, writable: false, configurable: true });
    try {
      for (let i = 0; i < 2; i++) expect((await caught(() => breaker.execute(async () => 1))).code).toBe('ERR_CIRCUIT_OPEN');
    } finally {
      Object.defineProperty(Error, 'stackTraceLimit', original);
    }
    expect(breaker.status().calls.rejections).toBe(2);
  });

  test('a listener throwing a hostile value loses no event for the others and escapes nowhere', async () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const hostile = new Proxy({}, { getPrototypeOf: () => { throw new Error('trap'); }, get: () => { throw new Error('trap'); } });
    const breaker = new CircuitBreaker({ clock: new ManualClock(), failureThreshold: 1 });
    const seen: string[] = [];
    breaker.onTransition(() => {
      throw hostile;
    });
    breaker.onTransition(async () => {
      throw hostile;
    });
    breaker.onTransition((e) => seen.push(`${e.from}->${e.to}`));
    try {
      await breaker.execute(boom).catch(() => undefined);
      breaker.reset();
      await new Promise((resolve) => setImmediate(resolve));
      expect(seen).toEqual(['CLOSED->OPEN', 'OPEN->CLOSED']);
      expect(warn).toHaveBeenCalledTimes(4); // two listeners failing, twice each: reported, not thrown
    } finally {
      warn.mockRestore();
    }
  });

  test('a listener added while an event is delivered starts with the next event', () => {
    const breaker = new CircuitBreaker({ clock: new ManualClock() });
    const late: string[] = [];
    breaker.onTransition(() => {
      if (late.length === 0) breaker.onTransition((e) => late.push(e.to));
    });
    breaker.forceOpen();
    expect(late).toEqual([]);
    breaker.reset();
    expect(late).toEqual(['CLOSED']);
  });

  test('a probeTimeoutMs given in the defaults is kept when an override changes only openTimeoutMs', () => {
    const registry = new AgentCircuitBreaker({
      agents: ['a'],
      defaults: { probeTimeoutMs: 60_000 },
      overrides: { a: { openTimeoutMs: 1_000 } },
      clock: new ManualClock(),
    });
    expect(registry.status('a').config).toMatchObject({ openTimeoutMs: 1_000, probeTimeoutMs: 60_000 });
  });

  test('reset() abandons permits a caller never reported: counted, and their reports change nothing', () => {
    const breaker = new CircuitBreaker({ clock: new ManualClock() });
    const permits = [breaker.acquire()!, breaker.acquire()!];
    breaker.reset();
    const s = breaker.status();
    expect([s.calls.abandoned, s.calls.inFlight]).toEqual([2, 0]);
    expect(breaker.fail(permits[0])).toBe(false);
    expect(breaker.status().calls).toEqual(s.calls);
    expect(accounted(breaker.status())).toBe(true);
  });
});
