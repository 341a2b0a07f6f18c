/**
 * The generic CircuitBreaker through its JavaScript API, against the built native addon, with a
 * manual clock: every transition, the half-open limit, stale outcomes, fallbacks and bad input.
 * Errors are asserted by `code` (native errors come from another realm under Jest).
 */

import { CircuitBreaker, ManualClock } from '../../lib/resilience';
import { setup } from './helpers/breaker';
import { caught } from './helpers/caught';

const ok = async () => 'ok';
const boom = async () => {
  throw new Error('boom');
};

/** A breaker on a manual clock that records its transitions. */

async function failTimes(breaker: CircuitBreaker, n: number) {
  for (let i = 0; i < n; i++) await expect(breaker.execute(boom)).rejects.toThrow('boom');
}


describe('CircuitBreaker', () => {
  test('starts CLOSED and passes results and errors through', async () => {
    const { breaker } = setup();
    expect(breaker.state).toBe('CLOSED');
    await expect(breaker.execute(ok)).resolves.toBe('ok');
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    await expect(breaker.execute(() => 7)).resolves.toBe(7);
  });

  test('opens on the fifth consecutive failure, not before', async () => {
    const { breaker, events } = setup();
    await failTimes(breaker, 4);
    expect(breaker.state).toBe('CLOSED');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('OPEN');
    expect(events).toEqual([
      { agent: 'amazon', from: 'CLOSED', to: 'OPEN', reason: 'failure_threshold', atMs: 0, consecutiveFailures: 5 },
    ]);
  });

  test('a success resets the consecutive count; total failures never trip', async () => {
    const { breaker } = setup();
    for (let round = 0; round < 20; round++) {
      await failTimes(breaker, 4);
      await breaker.execute(ok);
    }
    expect(breaker.state).toBe('CLOSED');
    const s = breaker.status();
    expect(s.calls.failures).toBe(80);
    expect(s.consecutiveFailures).toBe(0);
  });

  test('OPEN rejects at once without calling the function, with the time remaining', async () => {
    const { breaker, clock } = setup();
    await failTimes(breaker, 5);
    clock.advance(18_000);
    const fn = jest.fn(ok);
    const err = (await caught(() => breaker.execute(fn))) as { code?: string; retryAfterMs?: number; state?: string };
    expect(err.code).toBe('ERR_CIRCUIT_OPEN');
    expect(err.retryAfterMs).toBe(42_000);
    expect(err.state).toBe('OPEN');
    expect(fn).not.toHaveBeenCalled();
    expect(breaker.openRemainingMs).toBe(42_000);
    expect(breaker.status().calls.rejections).toBe(1);
  });

  test('a fallback answers while OPEN instead of an error', async () => {
    const { breaker } = setup();
    await failTimes(breaker, 5);
    const fn = jest.fn(ok);
    await expect(breaker.execute(fn, () => ({ phases: [] }))).resolves.toEqual({ phases: [] });
    expect(fn).not.toHaveBeenCalled();
  });

  test('OPEN becomes HALF_OPEN exactly when the open timeout has passed, seen by state and status', async () => {
    const { breaker, clock, events } = setup();
    await failTimes(breaker, 5);
    clock.advance(59_999);
    expect(breaker.state).toBe('OPEN');
    expect(breaker.status().openRemainingMs).toBe(1);
    clock.advance(1);
    const status = breaker.status();
    expect(status.state).toBe('HALF_OPEN');
    expect(status.sinceMs).toBe(60_000);
    expect(breaker.state).toBe('HALF_OPEN');
    expect(events.map((e) => e.to)).toEqual(['OPEN', 'HALF_OPEN']);
  });

  test('a configured open timeout applies', async () => {
    const { breaker, clock } = setup({ openTimeoutMs: 100 });
    await failTimes(breaker, 5);
    clock.advance(99);
    expect(breaker.state).toBe('OPEN');
    clock.advance(1);
    expect(breaker.state).toBe('HALF_OPEN');
  });

  test('HALF_OPEN closes after two successes', async () => {
    const { breaker, clock, events } = setup();
    await failTimes(breaker, 5);
    clock.advance(60_000);
    await breaker.execute(ok);
    expect(breaker.state).toBe('HALF_OPEN');
    await breaker.execute(ok);
    expect(breaker.state).toBe('CLOSED');
    expect(events.map((e) => `${e.from}->${e.to}:${e.reason}`)).toEqual([
      'CLOSED->OPEN:failure_threshold',
      'OPEN->HALF_OPEN:open_timeout_elapsed',
      'HALF_OPEN->CLOSED:success_threshold',
    ]);
    expect(breaker.status().recovery).toEqual({ count: 1, lastMs: 60_000, sumMs: 60_000, maxMs: 60_000 });
  });

  test('a failed probe reopens and restarts the open timeout', async () => {
    const { breaker, clock } = setup();
    await failTimes(breaker, 5);
    clock.advance(60_000);
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('OPEN');
    clock.advance(59_999);
    expect(breaker.state).toBe('OPEN');
    clock.advance(1);
    expect(breaker.state).toBe('HALF_OPEN');
  });

  test('HALF_OPEN admits only halfOpenMaxCalls probes at once; the rest get the fallback', async () => {
    const { breaker, clock } = setup();
    breaker.forceOpen();
    clock.advance(60_000);
    const gates: Array<() => void> = [];
    const slow = () => new Promise<string>((resolve) => gates.push(() => resolve('probe')));
    const calls = Array.from({ length: 100 }, () => breaker.execute(slow, () => 'fallback'));
    await Promise.resolve();
    expect(gates).toHaveLength(2);
    gates.forEach((open) => open());
    const results = await Promise.all(calls);
    expect(results.filter((r) => r === 'probe')).toHaveLength(2);
    expect(results.filter((r) => r === 'fallback')).toHaveLength(98);
    expect(breaker.state).toBe('CLOSED');
  });

  test('a stale success from before the trip changes nothing', async () => {
    const { breaker, clock } = setup();
    let finish: (v: string) => void = () => undefined;
    const slowCall = breaker.execute(() => new Promise<string>((resolve) => (finish = resolve)));
    await failTimes(breaker, 5);
    clock.advance(60_000);
    expect(breaker.state).toBe('HALF_OPEN');
    finish('late');
    await expect(slowCall).resolves.toBe('late');
    const s = breaker.status();
    expect(s.state).toBe('HALF_OPEN');
    expect(s.halfOpenSuccesses).toBe(0);
    expect(s.calls.lateOutcomes).toBe(1);
  });

  test('a permit counts once, and a released probe frees its place', () => {
    const { breaker, clock } = setup();
    breaker.forceOpen();
    clock.advance(60_000);
    const a = breaker.acquire()!;
    const b = breaker.acquire()!;
    expect(breaker.acquire()).toBeUndefined();
    expect(breaker.succeed(a)).toBe(true);
    expect(breaker.succeed(a)).toBe(false);
    expect(breaker.state).toBe('HALF_OPEN');
    expect(breaker.release(b)).toBe(true);
    const c = breaker.acquire();
    expect(c).toBeDefined();
    expect(breaker.succeed(c!)).toBe(true);
    expect(breaker.state).toBe('CLOSED');
  });

  test('forceOpen and reset are recorded transitions; reset clears the consecutive count', async () => {
    const { breaker, events } = setup();
    await failTimes(breaker, 3);
    breaker.forceOpen();
    expect(breaker.state).toBe('OPEN');
    breaker.reset();
    expect(breaker.state).toBe('CLOSED');
    expect(events.map((e) => e.reason)).toEqual(['forced_open', 'reset']);
    await failTimes(breaker, 4);
    expect(breaker.state).toBe('CLOSED');
  });

  test('failures are counted by reason; unclassified errors are released, not counted', async () => {
    const classifyError = (e: unknown) => ((e as Error).message === 'bad request' ? null : 'timeout');
    const { breaker } = setup({ classifyError });
    await expect(breaker.execute(boom)).rejects.toThrow();
    await expect(breaker.execute(() => Promise.reject(new Error('bad request')))).rejects.toThrow();
    const s = breaker.status();
    expect(s.calls.failuresByReason.timeout).toBe(1);
    expect(s.calls.failures).toBe(1);
    expect(s.calls.released).toBe(1);
    expect(s.consecutiveFailures).toBe(1);
    expect(s.lastFailure).toEqual({ reason: 'timeout', atMs: 0 });
  });

  test('counts from the fast path are exact', async () => {
    const { breaker, clock } = setup();
    for (let i = 0; i < 10_000; i++) await breaker.execute(ok);
    await failTimes(breaker, 1);
    const s = breaker.status();
    expect(s.calls).toMatchObject({ admitted: 10_001, successes: 10_000, failures: 1 });
    expect(s.errorRate).toMatchObject({ successes: 10_000, failures: 1 });
    clock.advance(60_000);
    expect(breaker.status().errorRate).toMatchObject({ successes: 0, failures: 0, ratio: 0 });
  });

  test('a listener that throws or calls back into the breaker breaks nothing', async () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const { breaker } = setup();
    const seen: string[] = [];
    breaker.onTransition(() => {
      throw new Error('listener bug');
    });
    breaker.onTransition((e) => seen.push(`${e.to}:${breaker.state}:${breaker.status().state}`));
    await failTimes(breaker, 5);
    expect(seen).toEqual(['OPEN:OPEN:OPEN']);
    expect(warn).toHaveBeenCalled();
    warn.mockRestore();
  });

  test('bad settings are refused with ERR_CIRCUIT_CONFIG naming the field', async () => {
    const fields = ['failureThreshold', 'successThreshold', 'halfOpenMaxCalls', 'openTimeoutMs', 'probeTimeoutMs', 'errorRateWindowMs'];
    for (const field of fields) {
      for (const value of [-1, 0, 1.5, NaN, Infinity, 2 ** 32, '5']) {
        const err = await caught(() => new CircuitBreaker({ [field]: value }));
        expect(err.code).toBe('ERR_CIRCUIT_CONFIG');
        expect(err.message).toContain(field);
      }
    }
    const typo = await caught(() => new CircuitBreaker({ failurThreshold: 3 } as never));
    expect(typo.code).toBe('ERR_CIRCUIT_CONFIG');
    expect(typo.message).toContain('failurThreshold');
  });

  test('the manual clock refuses bad readings', async () => {
    const clock = new ManualClock();
    for (const bad of [-1, 1.5, NaN, Infinity, 'x']) {
      expect((await caught(() => clock.advance(bad as number))).code).toBe('ERR_INVALID_ARG');
    }
    expect(clock.advance(5)).toBe(5);
    expect(clock.nowMs).toBe(5);
  });

  test('bad permits and reasons are refused, and change nothing', async () => {
    const { breaker } = setup();
    for (const bad of [-1, NaN, 1.5, 2 ** 60, 'x']) {
      expect((await caught(() => breaker.succeed(bad as number))).code).toBe('ERR_INVALID_ARG');
    }
    const p = breaker.acquire()!;
    expect((await caught(() => breaker.fail(p, 'nope' as never))).code).toBe('ERR_INVALID_ARG');
    expect(breaker.fail(p, 'network')).toBe(true);
    expect(breaker.status().calls.failuresByReason.network).toBe(1);
  });

  test('status is a plain object that survives JSON', () => {
    const { breaker } = setup();
    const s = breaker.status();
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    expect(s.config).toEqual({
      failureThreshold: 5,
      successThreshold: 2,
      halfOpenMaxCalls: 2,
      openTimeoutMs: 60_000,
      probeTimeoutMs: 60_000,
      errorRateWindowMs: 60_000,
      errorRateThreshold: 0,
      minimumCalls: 20,
      openBackoffMultiplier: 1,
      openTimeoutMaxMs: 60_000,
    });
  });

  test('a wall-clock jump changes nothing: time is monotonic', async () => {
    const breaker = new CircuitBreaker({ openTimeoutMs: 60_000 });
    breaker.forceOpen();
    jest.useFakeTimers({ now: Date.now() });
    try {
      jest.setSystemTime(Date.now() + 3_600_000); // the wall clock jumps an hour ahead
      expect(breaker.state).toBe('OPEN');
      expect(breaker.openRemainingMs).toBeGreaterThan(59_000);
      jest.setSystemTime(Date.now() - 7_200_000); // and two hours back
      expect(breaker.state).toBe('OPEN');
      expect(breaker.openRemainingMs).toBeLessThanOrEqual(60_000);
    } finally {
      jest.useRealTimers();
    }
  });
});


test('the generated contract matches the loaded native binary, constant for constant', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { NativeRegistry } = require('../../index') as typeof import('../../index');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const contract = require('../../lib/resilience/contract') as Record<string, unknown>;
  const native = JSON.parse(NativeRegistry.contractJson()) as Record<string, unknown>;
  expect(Object.keys(native).length).toBeGreaterThan(20);
  expect(Object.keys(contract).sort()).toEqual(Object.keys(native).sort());
  for (const [name, value] of Object.entries(native)) expect([name, contract[name]]).toEqual([name, value]);
});
