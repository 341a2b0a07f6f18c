/**
 * The engine under every breaker handle: one native registry, its hot-path functions and words
 * table, the transition listeners and the error classifier. Internal; not exported by the package.
 */

import { ManualClock, NativeRegistry } from './native';
import { CONFIG_KEYS, FAILURE_REASONS } from './contract';
import { CircuitBreakerError, describe } from './errors';
import { transitionChannel } from './instrument';
import type { BreakerConfig, ErrorClassifier, FailureReason, TransitionEvent, TransitionListener } from './types';
import { OUTCOME_RELEASED, failureOutcome, hasPendingEvents, type HotPath, type SlotOwner } from './words';

/** Refuses settings objects with unknown keys (a typo would otherwise be ignored silently). */
export function checkConfigKeys(config: unknown, where: string): void {
  if (config === undefined || config === null || typeof config !== 'object') return;
  for (const key of Object.keys(config)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
      throw new CircuitBreakerError(
        'ERR_CIRCUIT_CONFIG',
        `${where}: unknown setting "${key}"; known settings are ${CONFIG_KEYS.join(', ')}`,
      );
    }
  }
}

/** The default classifier: every error is a failure; a `circuitReason` property on it may name the kind. */
export const defaultClassifier: ErrorClassifier = (error) => {
  const reason = (error as { circuitReason?: unknown } | null)?.circuitReason;
  return FAILURE_REASONS.includes(reason as FailureReason) ? (reason as FailureReason) : 'error';
};

/** What an engine is built from. */
export interface EngineOptions {
  defaults?: BreakerConfig;
  maxAgents?: number;
  clock?: ManualClock;
  classifyError?: ErrorClassifier;
  onTransition?: TransitionListener;
}

/** Reports a listener's failure as a process warning; never throws, whatever the error is. */
function warnListener(error: unknown): void {
  try {
    process.emitWarning(`agent-circuit-breaker: a transition listener failed: ${describe(error)}`);
  } catch {
    // A hostile error value (or a throwing warning handler) must not stop the other listeners.
  }
}

/** One native registry and what its handles share. */
export class Engine implements SlotOwner {
  readonly native: NativeRegistry;
  readonly hot: HotPath;
  readonly words: Int32Array;
  /** True on the monotonic clock: handles may then reject calls while OPEN without native code. */
  readonly monotonic: boolean;
  private readonly listeners = new Set<TransitionListener>();
  private readonly classifier: ErrorClassifier;
  /** Transitions drained and not yet handed to every listener, oldest first. */
  private readonly queue: TransitionEvent[] = [];
  private delivering = false;

  constructor(options: EngineOptions) {
    checkConfigKeys(options.defaults, 'defaults');
    if (options.clock !== undefined && !(options.clock instanceof ManualClock)) {
      throw new CircuitBreakerError('ERR_INVALID_ARG', 'clock must be a ManualClock from agent-circuit-breaker');
    }
    if (options.classifyError !== undefined && typeof options.classifyError !== 'function') {
      throw new CircuitBreakerError('ERR_INVALID_ARG', 'classifyError must be a function');
    }
    this.native = new NativeRegistry(options.defaults, options.maxAgents, options.clock);
    this.hot = this.native.hotPath();
    this.words = this.hot.words;
    this.monotonic = options.clock === undefined;
    this.classifier = options.classifyError ?? defaultClassifier;
    if (options.onTransition !== undefined) this.subscribe(options.onTransition);
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: TransitionListener): () => void {
    if (typeof listener !== 'function') {
      throw new CircuitBreakerError('ERR_INVALID_ARG', 'a transition listener must be a function');
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The outcome code for an error: a failure kind, or released when the classifier says it does not count. */
  outcomeOf(error: unknown): number {
    let reason: FailureReason | null;
    try {
      reason = this.classifier(error);
    } catch {
      reason = 'error';
    }
    if (reason === null) return OUTCOME_RELEASED;
    const outcome = failureOutcome(reason);
    return outcome < 0 ? failureOutcome('error') : outcome;
  }

  /** Drains (see `drain`) if transitions wait in native memory: call after every native call. */
  drainIfPending(): void {
    if (hasPendingEvents(this.words)) this.drain();
  }

  /**
   * Hands transitions waiting in native memory to the listeners, each once and in order. A listener that causes transitions (by `reset()`, say) drains re-entrantly:
   * those events join the queue behind the one being delivered, so every listener sees one order.
   */
  drain(): void {
    const events = JSON.parse(this.native.drainTransitionsJson()) as TransitionEvent[];
    for (const event of events) this.queue.push(event);
    if (this.delivering) return;
    this.delivering = true;
    try {
      // A listener that keeps causing transitions keeps the queue growing: drop what was delivered.
      for (let i = 0; i < this.queue.length; i++) {
        this.deliver(this.queue[i]);
        if (i === 4095) {
          this.queue.splice(0, 4096);
          i = -1;
        }
      }
    } finally {
      this.queue.length = 0;
      this.delivering = false;
    }
  }

  /** Hands one event to the listeners subscribed now (one added meanwhile starts with the next). */
  private deliver(event: TransitionEvent): void {
    // A subscriber that throws does not stop this: Node reports its error on the next tick, as an
    // uncaught exception (diagnostics_channel's own contract).
    if (transitionChannel.hasSubscribers) transitionChannel.publish(event);
    for (const listener of [...this.listeners]) {
      try {
        const returned: unknown = listener(event);
        if (returned instanceof Promise) returned.catch(warnListener);
      } catch (error) {
        warnListener(error);
      }
    }
  }
}
