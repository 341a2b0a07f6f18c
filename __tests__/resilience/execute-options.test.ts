/**
 * `execute(fn, { fallback, signal, timeoutMs })`: the function's AbortSignal, timeouts (counted as
 * `timeout` failures) and the caller's abort (released, nothing counted). Timers are Jest's fake
 * timers: no test waits on the wall clock.
 */

import { spawnSync } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import * as path from 'node:path';
import { CircuitBreaker, ManualClock } from '../../lib/resilience';
import { setup } from './helpers/breaker';
import { caught } from './helpers/caught';

const never = () => new Promise<never>(() => undefined);


afterEach(() => jest.useRealTimers());

// Every test twice: as is, and traced (a call:end subscriber sends execute through the traced path,
// which must not change what execute does).
describe.each([['untraced'], ['traced']])('execute with options (%s)', (mode) => {
  const onEnd = () => undefined;
  beforeAll(() => mode === 'traced' && diagnostics.subscribe('agent-circuit-breaker:call:end', onEnd));
  afterAll(() => mode === 'traced' && diagnostics.unsubscribe('agent-circuit-breaker:call:end', onEnd));

  test('fn always gets an AbortSignal; without a signal or timeout it never aborts', async () => {
    const { breaker } = setup();
    const seen: AbortSignal[] = [];
    await breaker.execute((s) => void seen.push(s));
    await breaker.execute((s) => void seen.push(s), () => 0);
    await breaker.execute((s) => void seen.push(s), {});
    expect(seen.every((s) => s instanceof AbortSignal && !s.aborted)).toBe(true);
  });

  test('a call past timeoutMs rejects with ERR_CALL_TIMEOUT, aborts fn, and counts as a timeout failure', async () => {
    jest.useFakeTimers();
    const { breaker } = setup();
    let signal: AbortSignal | undefined;
    const call = breaker.execute((s) => {
      signal = s;
      return never();
    }, { timeoutMs: 500 });
    const settled = caught(() => call);
    jest.advanceTimersByTime(499);
    expect(signal!.aborted).toBe(false);
    jest.advanceTimersByTime(1);
    const err = (await settled) as { code?: string; name?: string; timeoutMs?: number };
    expect([err.code, err.name, err.timeoutMs]).toEqual(['ERR_CALL_TIMEOUT', 'TimeoutError', 500]);
    expect(signal!.aborted).toBe(true);
    expect(signal!.reason).toBe(err);
    const { calls } = breaker.status();
    expect([calls.failures, calls.failuresByReason.timeout, calls.inFlight]).toEqual([1, 1, 0]);
  });

  test('a function that declares no parameter gets a signal that never aborts (Node makes a real one in 2 µs)', async () => {
    jest.useFakeTimers();
    const { breaker } = setup();
    let given: AbortSignal | undefined;
    const call = caught(() =>
      breaker.execute(function () {
        given = arguments[0] as AbortSignal; // eslint-disable-line prefer-rest-params
        return never();
      }, { timeoutMs: 5 }),
    );
    jest.advanceTimersByTime(5);
    expect((await call).code).toBe('ERR_CALL_TIMEOUT');
    expect([given instanceof AbortSignal, given!.aborted]).toEqual([true, false]);
  });

  test('a call that never settles is no longer admitted forever: five timeouts open the breaker', async () => {
    jest.useFakeTimers();
    const { breaker, events } = setup();
    for (let i = 0; i < 5; i++) {
      const call = caught(() => breaker.execute(never, { timeoutMs: 10 }));
      jest.advanceTimersByTime(10);
      expect((await call).code).toBe('ERR_CALL_TIMEOUT');
    }
    expect(breaker.state).toBe('OPEN');
    expect(events.map((e) => e.reason)).toEqual(['failure_threshold']);
    expect(breaker.status().calls.inFlight).toBe(0);
  });

  test("the caller's abort rejects at once with ERR_ABORTED and the reason as cause; the permit is released", async () => {
    jest.useFakeTimers();
    const { breaker } = setup();
    const controller = new AbortController();
    let inner: AbortSignal | undefined;
    const call = caught(() =>
      breaker.execute((s) => {
        inner = s;
        return never();
      }, { signal: controller.signal, timeoutMs: 60_000 }),
    );
    const reason = new Error('user went away');
    controller.abort(reason);
    const err = (await call) as { code?: string; name?: string; cause?: unknown };
    expect([err.code, err.name, err.cause]).toEqual(['ERR_ABORTED', 'AbortError', reason]);
    expect([inner!.aborted, inner!.reason]).toEqual([true, reason]);
    const { calls, consecutiveFailures } = breaker.status();
    expect([calls.released, calls.failures, calls.inFlight, consecutiveFailures]).toEqual([1, 0, 0, 0]);
    jest.advanceTimersByTime(60_000); // the timeout was cleared: nothing more is counted
    expect(breaker.status().calls.failures).toBe(0);
  });

  test("without a timeout fn gets the caller's signal; an abort it honours rejects with ERR_ABORTED, released", async () => {
    const { breaker } = setup();
    const controller = new AbortController();
    const call = caught(() =>
      breaker.execute(
        (s) => new Promise((_, reject) => s.addEventListener('abort', () => reject(s.reason))),
        { signal: controller.signal },
      ),
    );
    controller.abort('stop');
    const err = (await call) as { code?: string; cause?: unknown };
    expect([err.code, err.cause]).toEqual(['ERR_ABORTED', 'stop']);
    expect([breaker.status().calls.released, breaker.status().calls.failures]).toEqual([1, 0]);
  });

  test('a value that arrives after the abort is not returned: released, ERR_ABORTED', async () => {
    const { breaker } = setup();
    const controller = new AbortController();
    const call = breaker.execute(async () => {
      controller.abort('late');
      return 'value';
    }, { signal: controller.signal });
    expect(((await caught(() => call)) as { code?: string }).code).toBe('ERR_ABORTED');
    expect(breaker.status().calls.successes).toBe(0);
  });

  test('an already aborted signal rejects before anything is admitted, and fn is not called', async () => {
    const { breaker } = setup();
    const fn = jest.fn();
    const err = (await caught(() => breaker.execute(fn, { signal: AbortSignal.abort('gone') }))) as { code?: string; cause?: unknown };
    expect([err.code, err.cause, fn.mock.calls.length, breaker.status().calls.admitted]).toEqual(['ERR_ABORTED', 'gone', 0, 0]);
  });

  test('an abort by a transition listener during admission is seen: ERR_ABORTED, fn not called, released', async () => {
    jest.useFakeTimers();
    const controller = new AbortController();
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ clock, failureThreshold: 1, openTimeoutMs: 10, onTransition: (e) => {
      if (e.to === 'HALF_OPEN') controller.abort('listener');
    } });
    await breaker.execute(async () => Promise.reject(new Error('x'))).catch(() => undefined);
    clock.advance(10);
    const fn = jest.fn(async () => 'probe');
    const err = (await caught(() => breaker.execute(fn, { signal: controller.signal, timeoutMs: 500 }))) as { code?: string; cause?: unknown };
    expect([err.code, err.cause, fn.mock.calls.length]).toEqual(['ERR_ABORTED', 'listener', 0]);
    expect([breaker.state, breaker.status().calls.released, breaker.status().probesInFlight]).toEqual(['HALF_OPEN', 1, 0]);
  });

  test('options whose getters or traps throw give a rejected promise, never a synchronous throw', async () => {
    const { breaker } = setup();
    const hostile = new Error('hostile');
    const cases: unknown[] = [
      { get aborted() { throw hostile; } },
      new Proxy({}, { getPrototypeOf() { throw hostile; }, get() { throw hostile; } }),
      { signal: { aborted: true, get reason() { throw hostile; } } },
      { get signal() { throw hostile; } },
    ];
    for (const options of cases) {
      let promise: Promise<unknown> | undefined;
      expect(() => { promise = breaker.execute(async () => 1, options as never); }).not.toThrow();
      await expect(promise).rejects.toBe(hostile);
    }
    expect(breaker.status().calls.admitted).toBe(0);
  });

  test('options.fallback answers when the breaker rejects; a bare AbortSignal is accepted as the options', async () => {
    const { breaker } = setup();
    breaker.forceOpen();
    await expect(breaker.execute(async () => 'real', { fallback: () => 'fallback' })).resolves.toBe('fallback');
    expect(((await caught(() => breaker.execute(async () => 1, new AbortController().signal))) as { code?: string }).code).toBe('ERR_CIRCUIT_OPEN');
  });

  test('the fallback answers rejections only: a failing or timed-out call rejects and the fallback is not called', async () => {
    jest.useFakeTimers();
    const { breaker } = setup();
    const fallback = jest.fn(() => 'fallback');
    await expect(breaker.execute(async () => Promise.reject(new Error('down')), { fallback })).rejects.toThrow('down');
    const timedOut = caught(() => breaker.execute(never, { fallback, timeoutMs: 5 }));
    jest.advanceTimersByTime(5);
    expect((await timedOut).code).toBe('ERR_CALL_TIMEOUT');
    expect(fallback).not.toHaveBeenCalled();
  });

  test('successes and failures through the options path count as they do through the plain one', async () => {
    const { breaker } = setup({ failureThreshold: 2 });
    await expect(breaker.execute(async () => 7, { timeoutMs: 1_000 })).resolves.toBe(7);
    await expect(breaker.execute(async () => 8, { signal: new AbortController().signal })).resolves.toBe(8);
    await expect(breaker.execute(async () => Promise.reject(new Error('x')), { timeoutMs: 1_000 })).rejects.toThrow('x');
    await expect(breaker.execute(() => { throw new Error('y'); }, {})).rejects.toThrow('y');
    expect([breaker.state, breaker.status().calls.successes, breaker.status().calls.failures]).toEqual(['OPEN', 2, 2]);
  });

  test('bad options are refused with ERR_INVALID_ARG naming the option, before anything is admitted', async () => {
    const { breaker } = setup();
    const bad: [unknown, RegExp][] = [
      [{ timeoutMs: 0 }, /timeoutMs must be an integer number of milliseconds in 1\.\.=86400000 \(got 0\)/],
      [{ timeoutMs: 1.5 }, /timeoutMs/],
      [{ timeoutMs: 86_400_001 }, /timeoutMs/],
      [{ signal: {} }, /signal must be an AbortSignal/],
      [{ fallback: 'x' }, /fallback must be a function/],
      [{ timeout: 5 }, /unknown option "timeout"; known options are fallback, signal, timeoutMs/],
      [5, /second argument must be a fallback function, an options object or an AbortSignal/],
      [null, /second argument/],
    ];
    for (const [options, message] of bad) {
      const err = await caught(() => breaker.execute(async () => 1, options as never));
      expect([err.code, err.message]).toEqual(['ERR_INVALID_ARG', expect.stringMatching(message)]);
    }
    expect(breaker.status().calls.admitted).toBe(0);
  });

  test('the timeout timer does not keep the process alive: a process with a pending timed call exits by itself', () => {
    const code = `
      const { CircuitBreaker } = require(${JSON.stringify(path.join(__dirname, '../../lib/resilience'))});
      const b = new CircuitBreaker();
      b.execute(() => new Promise(() => undefined), { timeoutMs: 60000 });
      console.log(b.status().calls.inFlight);`;
    const child = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 20_000 });
    expect([child.signal, child.status, child.stdout.trim()]).toEqual([null, 0, '1']);
  });
});
