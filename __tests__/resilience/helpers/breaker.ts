/** A stand-alone breaker named "amazon" on a manual clock, recording its transitions. */

import { CircuitBreaker, ManualClock, type TransitionEvent } from '../../../lib/resilience';

/** The breaker, its clock and the transitions it has made, in order. */
export function setup(config: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
  const clock = new ManualClock();
  const events: TransitionEvent[] = [];
  const breaker = new CircuitBreaker({ name: 'amazon', clock, onTransition: (e) => events.push(e), ...config });
  return { clock, events, breaker };
}
