/**
 * Fleet sync (`agent-circuit-breaker/fleet`): one breaker per agent across every instance of an
 * app, through Redis, with nothing added to the protected call.
 *
 * Counting stays local: each instance's breaker decides its own trips. Instances share
 * transitions, not counters:
 * - a local trip runs one script that opens the agent fleet-wide (unless it already is, with time
 *   left: never extended) and publishes it; every other instance opens for the time left
 *   (`remote_open`), fenced by the generation, and the open ends by itself;
 * - a reconcile loop reads every agent in one round trip each `syncIntervalMs` and on every
 *   (re)connect, so a lost message, a failover or a fresh instance catches up within one interval;
 * - in HALF_OPEN only the holder of the window's probe leases probes; the others answer with
 *   fallbacks until the holder publishes the outcome (`remote_close`, or a new open);
 * - nothing waits on Redis: while it is unreachable every instance runs the local rules.
 */

import { hostname } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import type { AgentCircuitBreaker } from './agent-circuit-breaker';
import { fleetControl, type FleetControl } from './circuit-breaker';
import { BREAKER_LIMITS } from './contract';
import { CircuitBreakerError, describe } from './errors';
import { CLOSE, LEASE, RELEASE, SYNC, TRIP } from './fleet-scripts';
import type { FleetAgentStatus, FleetStatus, TransitionEvent, TransitionReason } from './types';

/** Options of `attachFleet`. */
export interface FleetOptions {
  /** A Redis URL (`redis://`, `rediss://`), or an ioredis client (or Cluster) to copy: fleet sync opens its own connections. */
  redis: string | Redis | Cluster;
  /** The subscriber connection, if it must differ from a copy of `redis` (a URL or a client to copy). */
  subscriber?: string | Redis | Cluster;
  /** Prepended to every key and channel, so several apps can share one Redis; no braces. @default 'agent-circuit-breaker:' */
  prefix?: string;
  /** The reconcile loop's period, 50..=600000 ms. @default 1000 */
  syncIntervalMs?: number;
  /** The longest any Redis command may take before it counts as a sync error, 10..=60000 ms. @default 200 */
  commandTimeoutMs?: number;
  /** How long a probe lease lasts unless renewed (the holder renews it while its probes run), 100..=600000 ms. @default 1000 */
  leaseTtlMs?: number;
  /** This instance's id in Redis and in diagnostics. @default host:pid:random */
  instanceId?: string;
}

/** The fleet link's shape, stated in types.ts so the exporters' types need no ioredis. */
export type { FleetAgentStatus, FleetStatus };

/** Local transitions the fleet learns about: a trip, or a close this instance decided. */
const PUBLISHED_OPENS: readonly TransitionReason[] = ['failure_threshold', 'error_rate_threshold', 'probe_failed', 'probe_timed_out', 'forced_open'];
const PUBLISHED_CLOSES: readonly TransitionReason[] = ['success_threshold', 'reset'];
/** How long a closed agent's hash is kept after its last transition (for diagnostics). */
const KEEP_MS = 3_600_000;

/** What this instance knows about one agent's fleet state. */
interface AgentLink {
  readonly id: string;
  readonly control: FleetControl;
  readonly keys: { state: string; gen: string; leases: string[]; channel: string };
  /** The last fleet generation applied or published: events at or below it are dropped. */
  applied: number;
  /** When `applied` last moved (the sync's `moves` count then): a reconcile read started before it is stale. */
  appliedAt: number;
  /** The generation of the fleet open this instance is in (0: none known). */
  window: number;
  /** The local breaker is open by its own trip and the fleet has not heard of it yet. */
  unpublished: boolean;
  /** A close this instance decided while Redis was out of reach: the generation it closes ('' for any), sent on reconnect. */
  pendingClose: string | null;
  /** The leases this instance holds: the window's generation and when they were last renewed. */
  lease: { gen: number; renewedAt: number } | null;
  /** The breaker's refused calls at the last lease tick (more since: callers are waiting). */
  seenRejections: number;
  /** Calls were refused here since this instance last took a lease: it has callers for a probe. */
  wanting: boolean;
  /** The breaker needs a lease to probe (false: the local rules). */
  gated: boolean;
  /** This recovery window runs the local rules although the link is up (no fleet open to lease from). */
  localWindow: boolean;
  leaseHolder: string;
  lastRemote: FleetAgentStatus['lastRemote'];
  subscribed: boolean;
}

/** Reads a whole number option in a range, or its default; names the option and the range otherwise. */
function option(name: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new CircuitBreakerError('ERR_INVALID_ARG', `fleet option ${name} must be a whole number in ${min}..=${max} (got ${describe(value)})`);
  }
  return value;
}

type RedisClient = Redis | Cluster;

/** Options of fleet sync's command connection: nothing queues, nothing retries, nothing waits long. */
function commandOptions(timeoutMs: number, syncIntervalMs: number): RedisOptions {
  return { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: timeoutMs, connectTimeout: Math.max(timeoutMs, 1000), retryStrategy: reconnectDelay(syncIntervalMs) };
}

/** Reconnects within a quarter of the sync interval, so a returning Redis is resynced within one interval. */
function reconnectDelay(syncIntervalMs: number): (attempt: number) => number {
  return (attempt) => Math.min(50 * attempt, Math.max(50, Math.floor(syncIntervalMs / 4)));
}

/** Refuses a connection source that is neither a URL nor an ioredis client, naming the option. */
function checkSource(name: string, source: unknown): void {
  const client = source !== null && typeof source === 'object' && typeof (source as Redis).duplicate === 'function';
  if (!(typeof source === 'string' && /^rediss?:\/\//.test(source)) && !client) {
    throw new CircuitBreakerError('ERR_INVALID_ARG', `fleet option ${name} must be a redis:// or rediss:// URL or an ioredis client (got ${describe(source)})`);
  }
}

/** ioredis, an optional peer dependency: loaded only when fleet sync connects by URL. */
function ioredis(): typeof import('ioredis') {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('ioredis') as typeof import('ioredis');
  } catch {
    throw new CircuitBreakerError('ERR_INVALID_ARG', 'fleet sync needs ioredis, an optional peer dependency of agent-circuit-breaker: npm install ioredis');
  }
}

/** A connection of fleet sync's own that, like its timers, never keeps the process alive by itself. */
function connect(source: string | RedisClient, overrides: RedisOptions): RedisClient {
  const client = open(source, overrides);
  client.on('connect', () => (client as unknown as { stream?: { unref?: () => void } }).stream?.unref?.());
  return client;
}

/** A connection from a URL, or a copy of the caller's client (or Cluster). */
function open(source: string | RedisClient, overrides: RedisOptions): RedisClient {
  if (typeof source === 'string') return new (ioredis().Redis)(source, overrides);
  if ('isCluster' in source && source.isCluster) {
    const cluster = source as Cluster;
    const { enableOfflineQueue, retryStrategy, ...redisOptions } = overrides;
    // A Cluster's duplicate takes its start-up nodes first; its nodes' options go in redisOptions.
    return cluster.duplicate([], { enableOfflineQueue, clusterRetryStrategy: retryStrategy, redisOptions: { ...cluster.options.redisOptions, ...redisOptions } });
  }
  return (source as Redis).duplicate(overrides);
}

/** The hash tag of an agent's keys: its id, or a digest of it if the id has braces (which would cut the tag). */
function hashTag(id: string): string {
  return /[{}]/.test(id) ? createHash('sha1').update(id).digest('hex').slice(0, 20) : id;
}

/** A whole number in min..=max. */
const whole = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;

/** Fleet sync attached to one `AgentCircuitBreaker`; `attachFleet` makes it. */
export class FleetSync {
  readonly instanceId: string;
  readonly prefix: string;
  readonly syncIntervalMs: number;
  private readonly leaseTtlMs: number;
  private readonly leaseTickMs: number;
  private readonly cmd: RedisClient;
  private readonly sub: RedisClient;
  private readonly links = new Map<string, AgentLink>();
  /** Remote transitions applied, by JSON [agent, from, to]. */
  private readonly remote = new Map<string, number>();
  private readonly unsubscribe: () => void;
  private readonly timers: NodeJS.Timeout[] = [];
  private connected = false;
  private lastSyncAt: number | null = null;
  private instancesSeen = 0;
  private syncErrors = 0;
  private syncing: Promise<void> | null = null;
  private again = false;
  /** Counts every change of an agent's `applied`, so a reconcile read can tell it is older than one. */
  private moves = 0;
  private closed = false;
  /** Whether the server has sharded pub/sub (Redis 7+); null until known. */
  private sharded: boolean | null = null;
  private readonly firstSync: Promise<void>;
  /** This process's nonce in the events it publishes: its own events are told apart even if another process reuses the instance id. */
  private readonly session = randomBytes(6).toString('hex');
  private firstSynced: () => void = () => {};

  constructor(
    private readonly registry: AgentCircuitBreaker,
    options: FleetOptions,
  ) {
    if (options === null || typeof options !== 'object') throw new CircuitBreakerError('ERR_INVALID_ARG', 'fleet options must be an object');
    this.prefix = options.prefix ?? 'agent-circuit-breaker:';
    if (typeof this.prefix !== 'string' || /[{}]/.test(this.prefix)) {
      throw new CircuitBreakerError('ERR_INVALID_ARG', `fleet option prefix must be a string without braces (got ${describe(options.prefix)})`);
    }
    this.syncIntervalMs = option('syncIntervalMs', options.syncIntervalMs, 50, 600_000, 1000);
    const timeoutMs = option('commandTimeoutMs', options.commandTimeoutMs, 10, 60_000, 200);
    this.leaseTtlMs = option('leaseTtlMs', options.leaseTtlMs, 100, 600_000, 1000);
    this.leaseTickMs = Math.min(100, this.syncIntervalMs, Math.floor(this.leaseTtlMs / 4));
    const id = options.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    if (typeof id !== 'string' || id.length === 0 || id.length > 200) {
      throw new CircuitBreakerError('ERR_INVALID_ARG', `fleet option instanceId must be a string of 1..=200 characters (got ${describe(id)})`);
    }
    this.instanceId = id;
    checkSource('redis', options.redis);
    if (options.subscriber !== undefined) checkSource('subscriber', options.subscriber);
    this.cmd = connect(options.redis, commandOptions(timeoutMs, this.syncIntervalMs));
    this.sub = connect(options.subscriber ?? options.redis, { maxRetriesPerRequest: null, enableOfflineQueue: true, retryStrategy: reconnectDelay(this.syncIntervalMs) });
    for (const [name, lua] of Object.entries({ acbTrip: TRIP, acbClose: CLOSE, acbLease: LEASE, acbRelease: RELEASE, acbSync: SYNC })) {
      this.cmd.defineCommand(name, { lua });
    }
    // A connection error is a sync error, counted; ioredis reconnects by itself.
    this.cmd.on('error', () => {});
    this.sub.on('error', () => {});
    this.cmd.on('ready', () => this.syncSoon());
    this.sub.on('ready', () => {
      // Subscribe again on every (re)connect: ioredis can drop a subscription made while it was
      // still connecting (ioredis#2037), and SSUBSCRIBE twice is harmless.
      for (const link of this.links.values()) link.subscribed = false;
      this.syncSoon();
    });
    this.sub.on('message', (_channel: string, text: string) => this.onMessage(text));
    this.sub.on('smessage', (_channel: string, text: string) => this.onMessage(text));
    this.unsubscribe = registry.onTransition((event) => this.onTransition(event));
    this.timers.push(setInterval(() => this.syncSoon(), this.syncIntervalMs));
    this.timers.push(setInterval(() => this.leaseTick(), this.leaseTickMs));
    for (const timer of this.timers) timer.unref();
    this.firstSync = new Promise((resolve) => {
      this.firstSynced = resolve;
      setTimeout(resolve, Math.max(1000, 5 * timeoutMs)).unref();
    });
  }

  /**
   * Resolves once the first sync after connecting has ended, succeeded or not, or after
   * max(1 s, 5 command timeouts) if Redis cannot be reached; never rejects. Serve after it, and a
   * fresh instance starts from the fleet's state, not CLOSED.
   */
  ready(): Promise<void> {
    return this.firstSync;
  }

  /** The fleet link and every agent's shared state. */
  status(): FleetStatus {
    // Object.fromEntries defines own properties: an agent named "__proto__" is an entry, not a prototype.
    const agents: Record<string, FleetAgentStatus> = Object.fromEntries(
      this.registry.agents().map((id) => {
        const link = this.links.get(id);
        const status: FleetAgentStatus = {
          shared: this.connected && !this.closed,
          generation: link?.applied ?? 0,
          lastRemote: link?.lastRemote ?? null,
          leaseHolders: link?.leaseHolder ? [link.leaseHolder] : [],
        };
        return [id, status];
      }),
    );
    return {
      instanceId: this.instanceId,
      connected: this.connected && !this.closed,
      lastSyncAt: this.lastSyncAt === null ? null : new Date(this.lastSyncAt).toISOString(),
      instancesSeen: this.instancesSeen,
      syncErrors: this.syncErrors,
      remoteTransitions: [...this.remote].map(([key, count]) => {
        const [agent, from, to] = JSON.parse(key) as string[];
        return { agent, from, to, count };
      }),
      syncIntervalMs: this.syncIntervalMs,
      agents,
    };
  }

  /** Detaches: timers stop, connections close, every breaker goes back to the local rules. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    this.unsubscribe();
    for (const link of this.links.values()) this.ungate(link);
    const release = [...this.links.values()].filter((l) => l.lease !== null).map((l) => this.run('acbRelease', l.keys.leases, [this.instanceId]));
    await Promise.allSettled([...release, this.cmd.zrem(`${this.prefix}instances`, this.instanceId)]);
    this.cmd.disconnect();
    this.sub.disconnect();
  }

  /** The link of agent `id`, made on first use. */
  private link(id: string): AgentLink {
    let link = this.links.get(id);
    if (link === undefined) {
      const base = `${this.prefix}{${hashTag(id)}}:`;
      const slots = Math.max(1, this.leaseSlots(id));
      link = {
        id,
        control: fleetControl(this.registry.get(id)),
        keys: { state: `${base}state`, gen: `${base}gen`, leases: Array.from({ length: slots }, (_, i) => `${base}lease:${i}`), channel: `${base}events` },
        applied: 0,
        appliedAt: 0,
        window: 0,
        unpublished: false,
        pendingClose: null,
        lease: null,
        seenRejections: 0,
        wanting: false,
        gated: false,
        localWindow: false,
        leaseHolder: '',
        lastRemote: null,
        subscribed: false,
      };
      this.links.set(id, link);
    }
    return link;
  }

  /** Probes per recovery window, fleet-wide: halfOpenMaxCalls, or successThreshold if larger (else no window could close). */
  private leaseSlots(id: string): number {
    const { config } = this.registry.status(id);
    return Math.max(config.halfOpenMaxCalls, config.successThreshold);
  }

  /** Runs a script; numkeys first, as ioredis's defineCommand without numberOfKeys takes it. */
  private run(name: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    const fn = (this.cmd as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[name];
    return fn.call(this.cmd, keys.length, ...keys, ...args);
  }

  private get publishCommand(): string {
    return this.sharded ? 'SPUBLISH' : 'PUBLISH';
  }

  /** A local transition: publish a trip or a close, off the call's path. */
  private onTransition(event: TransitionEvent): void {
    if (this.closed) return;
    const link = this.link(event.agent);
    if (event.to === 'OPEN' && PUBLISHED_OPENS.includes(event.reason)) {
      link.unpublished = true;
      link.pendingClose = null;
      if (this.connected) void this.publishTrip(link);
    } else if (event.to === 'CLOSED' && PUBLISHED_CLOSES.includes(event.reason)) {
      link.unpublished = false;
      // Out of reach, an operator's reset closes only the open this instance knew of.
      link.pendingClose = event.reason === 'reset' && this.connected ? '' : String(link.window);
      if (this.connected) void this.publishClose(link, link.pendingClose);
    } else if (event.reason === 'remote_open' || event.reason === 'remote_close' || event.to === 'CLOSED') {
      link.unpublished = false;
      if (event.reason === 'remote_open' || event.reason === 'remote_close') {
        const key = JSON.stringify([event.agent, event.from, event.to]);
        this.remote.set(key, (this.remote.get(key) ?? 0) + 1);
      }
    }
    if (event.to === 'CLOSED') link.wanting = false;
    if (event.to !== 'HALF_OPEN') {
      link.lease = null;
      link.leaseHolder = '';
      if (link.localWindow) {
        link.localWindow = false;
        if (link.gated) link.control.setProbeLeases(0);
      }
    }
  }

  /** Opens the agent fleet-wide for the local breaker's remaining open time (never extending an open). */
  private async publishTrip(link: AgentLink): Promise<void> {
    const { keys } = link;
    try {
      const snap = this.registry.snapshot(link.id);
      if (snap.state !== 'OPEN') {
        // Its open ended before the fleet heard of it: nothing left to share (it would open everyone for 0 ms).
        link.unpublished = false;
        return;
      }
      const [written, gen, remainingMs, origin] = (await this.run('acbTrip', [keys.state, keys.gen, ...keys.leases], [
        this.instanceId,
        snap.openRemainingMs,
        keys.channel,
        this.publishCommand,
        KEEP_MS,
        link.id,
        this.session,
      ])) as [number, number, number, string];
      if (this.closed || gen < link.applied) return; // closed, or a newer fleet state arrived meanwhile
      link.unpublished = false;
      link.window = gen;
      link.applied = Math.max(link.applied, gen);
      link.appliedAt = ++this.moves;
      if (written === 0 && origin !== this.instanceId) {
        // The fleet was already open: keep its end, not ours.
        link.lastRemote = { origin, to: 'OPEN', generation: gen, at: new Date().toISOString() };
        link.control.remoteOpen(remainingMs);
      }
    } catch {
      this.syncErrors++;
    }
  }

  /** Closes the agent fleet-wide if it is still in the open of generation `expected` ('' for any). */
  private async publishClose(link: AgentLink, expected: string): Promise<void> {
    const { keys } = link;
    try {
      const [written, gen] = (await this.run('acbClose', [keys.state, keys.gen, ...keys.leases], [
        this.instanceId,
        expected,
        keys.channel,
        this.publishCommand,
        KEEP_MS,
        link.id,
        this.session,
      ])) as [number, number];
      if (link.pendingClose === expected) link.pendingClose = null;
      if (written === 1) {
        link.applied = Math.max(link.applied, gen);
        link.appliedAt = ++this.moves;
      }
      if (expected === '' || link.window === Number(expected)) link.window = 0;
    } catch {
      this.syncErrors++;
    }
  }

  /** A published event: apply it unless it is this process's own, or not newer than the last one applied. */
  private onMessage(text: string): void {
    if (this.closed) return;
    try {
      const event = JSON.parse(text) as { agent?: unknown; kind?: unknown; gen?: unknown; remainingMs?: unknown; origin?: unknown; session?: unknown };
      const { agent, kind, gen, remainingMs, origin } = event;
      if (event.session === this.session || typeof agent !== 'string' || typeof origin !== 'string') return;
      if (!whole(gen, 1, Number.MAX_SAFE_INTEGER) || !whole(remainingMs, 0, BREAKER_LIMITS.maxDurationMs)) return;
      if ((kind !== 'open' && kind !== 'close') || !this.registry.has(agent)) return;
      this.apply(this.link(agent), kind === 'open' ? 'open' : 'closed', gen, remainingMs, origin);
    } catch {
      // Whatever arrives on the channel, the subscriber's handler must not throw.
    }
  }

  /** Applies the fleet's state `state` of generation `gen` to the local breaker. */
  private apply(link: AgentLink, state: 'open' | 'closed', gen: number, remainingMs: number, origin: string): void {
    if (gen <= link.applied) return;
    link.applied = gen;
    link.appliedAt = ++this.moves;
    // A state this instance's id made (an earlier run of it, say) applies too, but is not remote.
    if (origin !== this.instanceId) link.lastRemote = { origin, to: state === 'open' ? 'OPEN' : 'CLOSED', generation: gen, at: new Date().toISOString() };
    link.pendingClose = null;
    if (state === 'open') {
      link.window = gen;
      link.unpublished = false;
      link.control.remoteOpen(remainingMs);
    } else {
      link.window = 0;
      link.control.remoteClose();
    }
  }

  /** Asks for a sync now; one runs at a time, and one more follows if asked meanwhile. */
  private syncSoon(): void {
    if (this.closed) return;
    if (this.syncing) {
      this.again = true;
      return;
    }
    void this.sync();
  }

  private sync(): Promise<void> {
    const run = this.syncOnce().finally(() => {
      this.syncing = null;
      if (this.again && !this.closed) {
        this.again = false;
        void this.sync();
      }
    });
    this.syncing = run;
    return run;
  }

  /** One reconcile: republish own unpublished trips, then read every agent and apply what is newer. */
  private async syncOnce(): Promise<void> {
    const started = this.moves;
    if (this.closed) return;
    try {
      if (this.sharded === null) this.sharded = await this.detectSharded();
      const ids = this.registry.agents();
      const links = ids.map((id) => this.link(id));
      this.subscribe(links);
      const rows = await this.readAll(links);
      if (this.closed) return;
      this.connected = true;
      this.lastSyncAt = Date.now();
      for (let i = 0; i < links.length; i++) if (links[i].appliedAt <= started) this.reconcile(links[i], rows[i]);
      // Every breaker the fleet knows needs a lease to probe (agents added since, too).
      for (const link of links) this.gate(link);
      // Tell the fleet about the trips and closes it missed (Redis was away, or a command failed).
      for (const link of links) {
        if (link.unpublished && !this.closed) await this.publishTrip(link);
        if (link.pendingClose !== null && !this.closed) await this.publishClose(link, link.pendingClose);
      }
    } catch {
      this.syncErrors++;
      if (this.connected && !this.closed) {
        this.connected = false;
        for (const link of this.links.values()) this.ungate(link);
      }
    }
    if (this.cmd.status === 'ready') this.firstSynced();
  }

  /** Whether the server has sharded pub/sub (SPUBLISH, Redis 7+). */
  private async detectSharded(): Promise<boolean> {
    const info = await this.cmd.info('server');
    const major = Number(/redis_version:(\d+)/.exec(info)?.[1] ?? 0);
    return major >= 7;
  }

  /**
   * Subscribes to the channels of agents not yet subscribed, once the subscriber is ready, without
   * waiting for the answer (the reconcile loop covers any gap).
   */
  private subscribe(links: AgentLink[]): void {
    const fresh = links.filter((l) => !l.subscribed);
    if (fresh.length === 0 || this.sub.status !== 'ready') return;
    for (const l of fresh) l.subscribed = true;
    const retry = () => fresh.forEach((l) => (l.subscribed = false));
    // On a Cluster each sharded channel lives on its own slot: one SSUBSCRIBE each.
    const groups = this.sharded && 'isCluster' in this.sub && this.sub.isCluster ? fresh.map((l) => [l.keys.channel]) : [fresh.map((l) => l.keys.channel)];
    for (const channels of groups) {
      const done = this.sharded ? (this.sub as Redis).ssubscribe(...channels) : this.sub.subscribe(...channels);
      done.catch(retry);
    }
  }

  /** Every agent's fleet state, in one round trip (one per agent on a Cluster). */
  private async readAll(links: AgentLink[]): Promise<unknown[][]> {
    const instances = `${this.prefix}instances`;
    const stale = 3 * this.syncIntervalMs;
    const agentKeys = (l: AgentLink): string[] => [l.keys.state, l.keys.gen, l.keys.leases[0]];
    const rows: unknown[][] = [];
    if (!('isCluster' in this.cmd && this.cmd.isCluster)) {
      const out = (await this.run('acbSync', [instances, ...links.flatMap(agentKeys)], [this.instanceId, stale, '1'])) as unknown[];
      this.instancesSeen = Number(out[0]);
      for (let i = 0; i < links.length; i++) rows.push(out.slice(1 + 5 * i, 6 + 5 * i));
      return rows;
    }
    const all = await Promise.all([
      this.run('acbSync', [instances], [this.instanceId, stale, '1']),
      ...links.map((l) => this.run('acbSync', agentKeys(l), [this.instanceId, stale, '0'])),
    ]);
    this.instancesSeen = Number((all[0] as unknown[])[0]);
    return all.slice(1).map((out) => (out as unknown[]).slice(1));
  }

  /** Applies one agent's row from the reconcile read. */
  private reconcile(link: AgentLink, row: unknown[]): void {
    const [state, gen, remainingMs, origin, holder] = row as [string, number, number, string, string];
    link.leaseHolder = holder;
    if (gen < link.applied) {
      // The counter went back: Redis lost its data (restart, failover). Start over from what it has.
      link.applied = gen;
      link.window = 0;
      if (this.registry.state(link.id) !== 'CLOSED' && link.lastRemote === null) link.unpublished = true;
      return;
    }
    if (state === 'open' || state === 'closed') this.apply(link, state, gen, remainingMs, origin);
  }

  /** Fleet rules for this breaker: no probe without a lease. */
  private gate(link: AgentLink): void {
    if (link.gated) return;
    link.gated = true;
    link.control.setProbeLeases(0);
  }

  /** Local rules for this breaker: Redis is out of reach, or fleet sync is detached. */
  private ungate(link: AgentLink): void {
    link.gated = false;
    link.localWindow = false;
    link.lease = null;
    link.control.setProbeLeases(null);
  }

  /** Takes, renews or gives up probe leases for the agents in (or about to enter) a recovery window. */
  private leaseTick(): void {
    if (!this.connected || this.closed) return;
    for (const link of this.links.values()) {
      if (!link.gated || (this.registry.state(link.id) === 'CLOSED' && !link.wanting)) continue;
      const status = this.registry.status(link.id);
      // Calls refused since the last tick: this instance has callers waiting for a probe.
      link.wanting ||= status.calls.rejections > link.seenRejections;
      link.seenRejections = status.calls.rejections;
      if (status.state === 'CLOSED' || (status.state === 'OPEN' && status.openRemainingMs > 2 * this.leaseTickMs)) continue;
      if (link.window === 0) {
        // No fleet open holds this window (lost by Redis, or never published): nobody can grant
        // a lease, so this window runs the local rules. The next OPEN or CLOSE gates it again.
        if (status.state === 'HALF_OPEN' && !link.unpublished && !link.localWindow) {
          link.localWindow = true;
          link.control.setProbeLeases(null);
        }
        continue;
      }
      if (link.lease !== null) {
        if (Date.now() - link.lease.renewedAt > this.leaseTtlMs - 2 * this.leaseTickMs) {
          // Not renewed in time: the lease may be someone else's by now. Stop probing.
          link.lease = null;
          link.control.setProbeLeases(0);
          continue;
        }
        // An idle holder lets its lease lapse, so that an instance with calls can take it.
        if (status.probesInFlight === 0 && !link.wanting) continue;
      } else if (!link.wanting) {
        continue; // no caller waits here: leave the window to an instance that has some
      }
      void this.takeLease(link, status.state === 'OPEN');
    }
  }

  /** Runs the lease script for the link's window; grants the breaker its probes the first time. */
  private async takeLease(link: AgentLink, early: boolean): Promise<void> {
    const gen = link.window;
    const sentAt = Date.now(); // the lease runs from when Redis may have granted it, at the earliest
    try {
      const [n, holder] = (await this.run('acbLease', [link.keys.state, ...link.keys.leases], [this.instanceId, gen, this.leaseTtlMs, early ? 2 * this.leaseTickMs : 0])) as [number, string];
      if (link.window !== gen || this.closed) return; // the window ended meanwhile
      if (n >= 0) link.leaseHolder = holder;
      if (n > 0) {
        link.wanting = false;
        const first = link.lease === null;
        link.lease = { gen, renewedAt: sentAt };
        if (first) link.control.setProbeLeases(n);
      } else if (n < 0) {
        // No open of this generation any more: closed or reopened (the reconcile loop applies
        // which), or lost by Redis (then nobody can grant a lease: local rules for this window).
        link.window = 0;
        this.syncSoon();
      }
    } catch {
      this.syncErrors++;
    }
  }
}

/**
 * Attaches fleet sync to `registry`: its breakers then share transitions with every other
 * instance attached to the same Redis and prefix. Returns at once; `ready()` resolves after the
 * first sync. ioredis (an optional peer dependency) must be installed.
 */
export function attachFleet(registry: AgentCircuitBreaker, options: FleetOptions): FleetSync {
  return new FleetSync(registry, options);
}
