/**
 * `AgentCircuitBreaker`: one circuit breaker per agent id, by default the five marketplace agents,
 * sharing default settings with per-agent overrides, bounded by `maxAgents`.
 *
 * Each instance owns its breakers: there is no hidden process-wide state, so Jest test files and
 * Next.js dev reloads each get fresh breakers unless they keep the instance themselves.
 */

import type { ManualClock } from './native';
import { Attachment, CircuitBreaker } from './circuit-breaker';
import type { ExecuteOptions } from './call';
import { TABLE_COLUMNS, type BreakerSnapshot } from './contract';
import { Engine, checkConfigKeys } from './engine';
import { CircuitBreakerError, describe } from './errors';
import type { BreakerConfig, BreakerStatus, CircuitState, ErrorClassifier, MetricsTable, TransitionListener } from './types';

/**
 * The five marketplace agents: the one list of them. The app, its configuration and the agent
 * simulator take it from here; pass it as `agents` to get their breakers.
 */
export const MARKETPLACE_AGENTS: readonly string[] = Object.freeze(['amazon', 'mercadolivre', 'shopee', 'shein', 'tiktok-shop']);
/** @deprecated The five marketplaces are no longer the default `agents`; use `MARKETPLACE_AGENTS`. */
export const DEFAULT_AGENTS = MARKETPLACE_AGENTS;

/** Options of an `AgentCircuitBreaker`. */
export interface AgentCircuitBreakerOptions {
  /** The agents to create breakers for at once (the app passes `MARKETPLACE_AGENTS`). @default [] */
  agents?: readonly string[];
  /**
   * Create a breaker, with the defaults, for an unknown agent id on first use (`execute`, `get`,
   * `state`, ...), bounded by `maxAgents` (past it, `ERR_TOO_MANY_AGENTS`). @default false
   */
  autoAdd?: boolean;
  /** Settings every breaker starts from. @default the story's: 5 failures, 2 successes, 60 s open */
  defaults?: BreakerConfig;
  /** Settings for particular agents, applied over `defaults`. Keys must be among `agents`. */
  overrides?: Readonly<Record<string, BreakerConfig>>;
  /** The most breakers this registry will hold; `add` past it fails with `ERR_TOO_MANY_AGENTS`. @default 1000 */
  maxAgents?: number;
  /** A manual clock for tests; the monotonic clock otherwise. */
  clock?: ManualClock;
  /** Called once for every transition of every agent. */
  onTransition?: TransitionListener;
  /** What a thrown error means. @default every error is a failure of kind 'error' (or its `circuitReason`) */
  classifyError?: ErrorClassifier;
}

/** Circuit breakers by agent id. */
export class AgentCircuitBreaker {
  /** The five marketplace agents. */
  static readonly MARKETPLACE_AGENTS = MARKETPLACE_AGENTS;
  /** @deprecated Use `MARKETPLACE_AGENTS`. */
  static readonly DEFAULT_AGENTS = MARKETPLACE_AGENTS;
  private readonly engine: Engine;
  /** Slot of each agent id; handles are made on first use (an idle agent costs a map entry). */
  private readonly slots = new Map<string, number>();
  private readonly ids: string[] = [];
  private readonly handles = new Map<string, CircuitBreaker>();
  private readonly autoAdd: boolean;

  constructor(options: AgentCircuitBreakerOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new CircuitBreakerError('ERR_INVALID_ARG', 'AgentCircuitBreaker options must be an object');
    }
    const { agents = [], overrides = {}, autoAdd = false, ...engineOptions } = options;
    if (typeof autoAdd !== 'boolean') {
      throw new CircuitBreakerError('ERR_INVALID_ARG', `autoAdd must be a boolean (got ${describe(autoAdd)})`);
    }
    this.autoAdd = autoAdd;
    if (!Array.isArray(agents)) {
      throw new CircuitBreakerError('ERR_INVALID_ARG', 'agents must be an array of agent ids');
    }
    if (overrides === null || typeof overrides !== 'object') {
      throw new CircuitBreakerError('ERR_INVALID_ARG', 'overrides must be an object of BreakerConfig by agent id');
    }
    for (const id of Object.keys(overrides)) {
      if (!agents.includes(id)) {
        throw new CircuitBreakerError(
          'ERR_UNKNOWN_AGENT',
          `overrides name agent ${JSON.stringify(id)}, which is not among agents (${agents.map(describe).join(', ')})`,
        );
      }
    }
    this.engine = new Engine(engineOptions);
    // Own keys only: an id such as "constructor" must not pick up Object.prototype's members.
    for (const id of agents) this.register(id, Object.hasOwn(overrides, id) ? overrides[id] : undefined);
  }

  /** Creates the breaker for `agentId` with the defaults and `config` applied, and returns it. */
  add(agentId: string, config?: BreakerConfig): CircuitBreaker {
    return this.handle(agentId, this.register(agentId, config));
  }

  private register(agentId: string, config?: BreakerConfig): number {
    checkConfigKeys(config, `config of agent ${describe(agentId)}`);
    const slot = this.engine.native.add(agentId, config);
    this.slots.set(agentId, slot);
    this.ids.push(agentId);
    return slot;
  }

  private handle(agentId: string, slot: number): CircuitBreaker {
    let breaker = this.handles.get(agentId);
    if (breaker === undefined) {
      breaker = new CircuitBreaker(new Attachment(this.engine, slot, agentId));
      if (this.handles.size < 10_000) this.handles.set(agentId, breaker);
    }
    return breaker;
  }

  /** The breaker of `agentId`; `ERR_UNKNOWN_AGENT` naming the known ids if there is none. */
  get(agentId: string): CircuitBreaker {
    const breaker = this.handles.get(agentId);
    if (breaker !== undefined) return breaker;
    const slot = this.slots.get(agentId);
    if (slot !== undefined) return this.handle(agentId, slot);
    if (this.autoAdd) return this.add(agentId);
    this.engine.native.slotOf(agentId); // throws the error that names the known agents
    throw new CircuitBreakerError('ERR_INTERNAL', `agent ${JSON.stringify(agentId)} has a slot but no handle`);
  }

  /** True if `agentId` has a breaker. */
  has(agentId: string): boolean {
    return this.slots.has(agentId);
  }

  /** The agent ids, in the order they were added. */
  agents(): string[] {
    return [...this.ids];
  }

  /** Every breaker's numbers in one table: cheap for thousands of agents (no JSON, no objects). */
  metricsTable(): MetricsTable {
    const values = this.engine.native.metricsTable();
    const nowMs = this.engine.native.nowMs();
    this.engine.drainIfPending();
    return { nowMs, agents: this.ids.slice(0, values.length / TABLE_COLUMNS.length), columns: TABLE_COLUMNS, values };
  }

  /**
   * The registry clock's reading in milliseconds: the clock of `TransitionEvent.atMs` and of the
   * status times (monotonic from the registry's creation, or the manual clock).
   */
  nowMs(): number {
    return this.engine.native.nowMs();
  }

  /** Runs `fn` behind `agentId`'s breaker; see `CircuitBreaker#execute`. */
  execute<T, F = T>(
    agentId: string,
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    fallbackOrOptions?: (() => F | PromiseLike<F>) | ExecuteOptions<F> | AbortSignal,
  ): Promise<T | F> {
    let breaker: CircuitBreaker;
    try {
      breaker = this.get(agentId);
    } catch (error) {
      return Promise.reject(error);
    }
    return breaker.execute(fn, fallbackOrOptions);
  }

  /** Holds `agentId`'s breaker OPEN until the returned function is called; see `CircuitBreaker#isolate`. */
  isolate(agentId: string): () => void {
    return this.get(agentId).isolate();
  }

  /** `agentId`'s breaker state as a plain JSON object; see `CircuitBreaker#snapshot`. */
  snapshot(agentId: string): BreakerSnapshot {
    return this.get(agentId).snapshot();
  }

  /** Puts `agentId`'s breaker in the state of a snapshot; see `CircuitBreaker#restore`. */
  restore(agentId: string, snapshot: BreakerSnapshot): void {
    this.get(agentId).restore(snapshot);
  }

  /** The effective state of `agentId`'s breaker. */
  state(agentId: string): CircuitState {
    return this.get(agentId).state;
  }

  /** Everything known about `agentId`'s breaker now. */
  status(agentId: string): BreakerStatus {
    return this.get(agentId).status();
  }

  /** The status of every agent's breaker, in the order they were added. */
  statusAll(): BreakerStatus[] {
    const all = JSON.parse(this.engine.native.statusAllJson()) as BreakerStatus[];
    this.engine.drainIfPending();
    return all;
  }

  /** `statusAll()`, so that `JSON.stringify(registry)` gives every breaker's status. */
  toJSON(): BreakerStatus[] {
    return this.statusAll();
  }

  /** Opens `agentId`'s breaker now. */
  forceOpen(agentId: string): void {
    this.get(agentId).forceOpen();
  }

  /** Closes `agentId`'s breaker now and clears its consecutive counts. */
  reset(agentId: string): void {
    this.get(agentId).reset();
  }

  /** Adds a listener for every agent's transitions; returns the function that removes it. */
  onTransition(listener: TransitionListener): () => void {
    return this.engine.subscribe(listener);
  }
}
