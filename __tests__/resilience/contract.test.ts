/**
 * The constants the package exports are generated from the Rust core (src/contract.rs): each one
 * is checked against what the breaker actually does, so a stale or wrong constant fails here.
 */

import {
  AgentCircuitBreaker, MARKETPLACE_AGENTS,
  BREAKER_LIMITS,
  CircuitBreaker,
  DEFAULT_AGENTS,
  DEFAULT_CONFIG,
  DEFAULT_MAX_AGENTS,
  ERROR_CODES,
  FAILURE_REASONS,
  FAILURE_WORDING,
  ManualClock,
  STATES,
  TABLE_COLUMNS,
  TRANSITION_REASONS,
  type FailureReason,
} from '../../lib/resilience';

const codeOf = (f: () => unknown): unknown => {
  try {
    f();
  } catch (error) {
    return (error as { code?: unknown }).code;
  }
  return undefined;
};

describe('exported constants', () => {
  test('are frozen', () => {
    for (const c of [STATES, FAILURE_REASONS, TRANSITION_REASONS, ERROR_CODES, FAILURE_WORDING, TABLE_COLUMNS, DEFAULT_CONFIG, BREAKER_LIMITS, DEFAULT_AGENTS]) {
      expect(Object.isFrozen(c)).toBe(true);
    }
  });

  test('an unknown setting is refused with the settings listed in their documented order', () => {
    expect(() => new CircuitBreaker({ failureThresold: 1 } as object)).toThrow(
      'CircuitBreaker options: unknown setting "failureThresold"; known settings are failureThreshold, ' +
        'successThreshold, halfOpenMaxCalls, openTimeoutMs, probeTimeoutMs, errorRateWindowMs, errorRateThreshold, ' +
        'minimumCalls, openBackoffMultiplier, openTimeoutMaxMs',
    );
  });

  test('DEFAULT_CONFIG is the settings a breaker gets when none are given', () => {
    expect(new CircuitBreaker().status().config).toEqual(DEFAULT_CONFIG);
  });

  test('BREAKER_LIMITS are the inclusive bounds the settings accept', () => {
    const accepts = (config: object) => codeOf(() => new CircuitBreaker(config)) === undefined;
    for (const field of ['failureThreshold', 'successThreshold', 'halfOpenMaxCalls']) {
      expect([accepts({ [field]: BREAKER_LIMITS.maxThreshold }), accepts({ [field]: BREAKER_LIMITS.maxThreshold + 1 })]).toEqual([true, false]);
    }
    for (const field of ['openTimeoutMs', 'probeTimeoutMs', 'errorRateWindowMs']) {
      expect([accepts({ [field]: BREAKER_LIMITS.maxDurationMs }), accepts({ [field]: BREAKER_LIMITS.maxDurationMs + 1 })]).toEqual([true, false]);
    }
    expect([accepts({ errorRateWindowMs: BREAKER_LIMITS.minWindowMs }), accepts({ errorRateWindowMs: BREAKER_LIMITS.minWindowMs - 1 })]).toEqual([true, false]);
    const multiplier = BREAKER_LIMITS.maxBackoffMultiplier;
    expect([accepts({ openBackoffMultiplier: multiplier }), accepts({ openBackoffMultiplier: multiplier + 0.5 })]).toEqual([true, false]);
    expect(codeOf(() => new AgentCircuitBreaker({ agents: [], maxAgents: BREAKER_LIMITS.maxAgents + 1 }))).toBe('ERR_CIRCUIT_CONFIG');
    const registry = new AgentCircuitBreaker({ agents: [] });
    expect(codeOf(() => registry.add('x'.repeat(BREAKER_LIMITS.maxIdChars)))).toBeUndefined();
    expect(codeOf(() => registry.add('y'.repeat(BREAKER_LIMITS.maxIdChars + 1)))).toBe('ERR_INVALID_AGENT_ID');
  });

  test('DEFAULT_MAX_AGENTS is how many breakers a registry holds by default', () => {
    const registry = new AgentCircuitBreaker({ agents: [] });
    for (let i = 0; i < DEFAULT_MAX_AGENTS; i++) registry.add(`a${i}`);
    expect(codeOf(() => registry.add('one-more'))).toBe('ERR_TOO_MANY_AGENTS');
  });

  test('FAILURE_REASONS are the failure counts a status has, and each has its wording', () => {
    const status = new CircuitBreaker().status();
    expect(Object.keys(status.calls.failuresByReason).sort()).toEqual([...FAILURE_REASONS].sort());
    expect(Object.keys(FAILURE_WORDING).sort()).toEqual([...FAILURE_REASONS].sort());
    const breaker = new CircuitBreaker({ failureThreshold: 100 });
    FAILURE_REASONS.forEach((reason: FailureReason, i) => {
      for (let n = 0; n <= i; n++) breaker.fail(breaker.acquire()!, reason);
    });
    expect(FAILURE_REASONS.map((r) => breaker.status().calls.failuresByReason[r])).toEqual(FAILURE_REASONS.map((_, i) => i + 1));
  });

  test('STATES are in the order of the metrics table state codes, and TRANSITION_REASONS name the transitions', () => {
    const clock = new ManualClock();
    const registry = new AgentCircuitBreaker({ agents: ['a'], clock, defaults: { failureThreshold: 1, openTimeoutMs: 10 } });
    const seen: string[] = [];
    registry.onTransition((e) => seen.push(e.reason));
    const code = () => registry.metricsTable().values[TABLE_COLUMNS.indexOf('state')];
    expect(STATES[code()]).toBe('CLOSED');
    registry.forceOpen('a');
    expect(STATES[code()]).toBe('OPEN');
    clock.advance(10);
    expect(STATES[code()]).toBe('HALF_OPEN');
    registry.reset('a');
    expect(seen).toEqual(['forced_open', 'open_timeout_elapsed', 'reset']);
    expect(seen.every((r) => TRANSITION_REASONS.includes(r as never))).toBe(true);
  });

  test('TABLE_COLUMNS are the metrics table columns', () => {
    expect(new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS }).metricsTable().columns).toEqual(TABLE_COLUMNS);
  });

  test('ERROR_CODES hold every code the package throws', () => {
    const registry = new AgentCircuitBreaker({ agents: ['a'], maxAgents: 1 });
    const thrown = [
      codeOf(() => new CircuitBreaker({ failureThreshold: 0 })),
      codeOf(() => registry.add('')),
      codeOf(() => registry.get('b')),
      codeOf(() => new AgentCircuitBreaker({ agents: ['a', 'a'] })),
      codeOf(() => registry.add('b')),
      codeOf(() => new ManualClock(-1)),
    ];
    expect(thrown).toEqual(['ERR_CIRCUIT_CONFIG', 'ERR_INVALID_AGENT_ID', 'ERR_UNKNOWN_AGENT', 'ERR_AGENT_EXISTS', 'ERR_TOO_MANY_AGENTS', 'ERR_INVALID_ARG']);
    for (const code of [...thrown, 'ERR_CIRCUIT_OPEN', 'ERR_INTERNAL', 'ERR_NATIVE_BINDING_MISSING', 'ERR_UNSUPPORTED_RUNTIME']) {
      expect(ERROR_CODES).toContain(code);
    }
  });
});
