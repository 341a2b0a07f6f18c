/**
 * Fleet sync against a real redis-server: the Lua scripts one by one (TRIP, CLOSE, LEASE,
 * RELEASE), then several registries in this process attached to one Redis and prefix: a trip
 * opens the others, generations fence late events, a remote open ends by itself, HALF_OPEN probes
 * only with the window's leases, a reset closes everyone, a fresh instance starts OPEN. Breaker
 * time runs on manual clocks; Redis effects are polled for, never slept on.
 */

import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { AgentCircuitBreaker, CircuitBreakerError, ManualClock, type BreakerConfig, type TransitionEvent } from '../../lib/resilience';
import { attachFleet, type FleetOptions, type FleetSync } from '../../lib/resilience/fleet';
import { CLOSE, LEASE, RELEASE, TRIP } from '../../lib/resilience/fleet-scripts';
import { eventually } from './helpers/agent-server';
import { caught } from './helpers/caught';
import { RedisServer } from './helpers/redis-server';

const KEEP_MS = 60_000;
const boom = () => Promise.reject(new Error('agent down'));
const ok = async () => 'ok';
const fallback = () => 'fallback';

let server: RedisServer;
let admin: Redis;
const fleets: FleetSync[] = [];
const clients: Redis[] = [];

beforeAll(async () => {
  server = await RedisServer.start();
  admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
  admin.on('error', () => undefined);
});
afterAll(async () => {
  await Promise.all(fleets.map((f) => f.close()));
  for (const c of [admin, ...clients]) c.disconnect();
  await server.stop();
});

const newPrefix = () => `test-${randomBytes(4).toString('hex')}:`;
/** One agent's keys (two lease slots: the defaults' max(halfOpenMaxCalls, successThreshold)). */
const keysOf = (prefix: string, agent = 'amazon') => {
  const base = `${prefix}{${agent}}:`;
  return { state: `${base}state`, gen: `${base}gen`, leases: [`${base}lease:0`, `${base}lease:1`], channel: `${base}events` };
};
type Keys = ReturnType<typeof keysOf>;

/** Polls `ok` (sync or async); fails naming it if it is still false after `ms`. */
async function waitFor(ok: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  if (!(await eventually(ok, ms))) throw new Error(`not true within ${ms} ms: ${ok.toString()}`);
}

/** The Redis server's clock in ms, as the scripts read it. */
async function redisNow(): Promise<number> {
  const [s, us] = (await admin.time()) as unknown as [string, string];
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

const trip = (k: Keys, origin: string, openMs: number) =>
  admin.eval(TRIP, 2 + k.leases.length, k.state, k.gen, ...k.leases, origin, openMs, k.channel, 'SPUBLISH', KEEP_MS, 'amazon') as Promise<[number, number, number, string]>;
const close = (k: Keys, origin: string, expected: string) =>
  admin.eval(CLOSE, 2 + k.leases.length, k.state, k.gen, ...k.leases, origin, expected, k.channel, 'SPUBLISH', KEEP_MS, 'amazon') as Promise<[number, number]>;
const lease = (k: Keys, holder: string, gen: number, ttlMs: number, leadMs = 0) =>
  admin.eval(LEASE, 1 + k.leases.length, k.state, ...k.leases, holder, gen, ttlMs, leadMs) as Promise<[number, string]>;
const release = (k: Keys, holder: string) => admin.eval(RELEASE, k.leases.length, ...k.leases, holder) as Promise<number>;

describe('the Lua scripts against a real redis-server', () => {
  test('TRIP writes the state hash with a TTL, bumps the generation, voids the leases and publishes; a re-trip never extends the open', async () => {
    const k = keysOf(newPrefix());
    const sub = new Redis(server.url);
    clients.push(sub);
    const messages: string[] = [];
    sub.on('smessage', (channel: string, text: string) => channel === k.channel && messages.push(text));
    await sub.ssubscribe(k.channel);
    await admin.set(k.leases[0], 'last-window');

    expect(await trip(k, 'A', 5000)).toEqual([1, 1, 5000, 'A']);
    const hash = await admin.hgetall(k.state);
    expect(hash).toMatchObject({ state: 'open', gen: '1', origin: 'A' });
    const left = Number(hash.until) - (await redisNow());
    expect(left).toBeGreaterThan(4000);
    expect(left).toBeLessThanOrEqual(5000);
    const ttl = await admin.pttl(k.state);
    expect(ttl).toBeGreaterThan(KEEP_MS);
    expect(ttl).toBeLessThanOrEqual(KEEP_MS + 5000);
    expect(await admin.get(k.gen)).toBe('1');
    expect(await admin.pttl(k.gen)).toBe(-1); // the counter never expires
    expect(await admin.exists(k.leases[0])).toBe(0);
    await waitFor(() => messages.length === 1);
    expect(JSON.parse(messages[0])).toEqual({ agent: 'amazon', kind: 'open', gen: 1, remainingMs: 5000, origin: 'A' });

    const [written, gen, remaining, origin] = await trip(k, 'B', 9000);
    expect([written, gen, origin]).toEqual([0, 1, 'A']);
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThanOrEqual(5000);
    expect(await admin.hgetall(k.state)).toEqual(hash);
    expect(await admin.get(k.gen)).toBe('1');
    await admin.spublish(k.channel, 'marker'); // the re-trip published nothing before it
    await waitFor(() => messages.length === 2);
    expect(messages[1]).toBe('marker');
  });

  test('CLOSE closes only the open of the expected generation (or any, given \'\'), bumps the generation and voids the leases', async () => {
    const k = keysOf(newPrefix());
    await trip(k, 'A', 5000);
    await admin.set(k.leases[0], 'A');
    await admin.set(k.leases[1], 'A');
    expect(await close(k, 'B', '7')).toEqual([0, 1]);
    expect(await admin.hget(k.state, 'state')).toBe('open');
    expect(await admin.exists(...k.leases)).toBe(2);

    expect(await close(k, 'B', '1')).toEqual([1, 2]);
    expect(await admin.hgetall(k.state)).toEqual({ state: 'closed', gen: '2', until: '0', origin: 'B' });
    expect(await admin.get(k.gen)).toBe('2');
    expect(await admin.exists(...k.leases)).toBe(0);
    const ttl = await admin.pttl(k.state);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(KEEP_MS);
    expect(await close(k, 'B', '')).toEqual([0, 2]); // nothing open

    expect((await trip(k, 'A', 5000))[1]).toBe(3);
    expect(await close(k, 'operator', '')).toEqual([1, 4]);
    expect(await admin.hget(k.state, 'state')).toBe('closed');
  });

  test('LEASE grants every slot or none, only for the open generation and near its end, and a lease expires after its ttl', async () => {
    const k = keysOf(newPrefix());
    expect(await lease(k, 'A', 1, 1000)).toEqual([-1, '']); // nothing open
    await trip(k, 'T', 5000);
    expect(await lease(k, 'A', 1, 1000, 0)).toEqual([0, '']); // 5 s left
    expect(await lease(k, 'A', 2, 1000, 10_000)).toEqual([-1, 'open']); // wrong generation
    await admin.set(k.leases[1], 'C', 'PX', 60_000);
    expect(await lease(k, 'A', 1, 1000, 10_000)).toEqual([0, 'C']);
    expect(await admin.exists(k.leases[0])).toBe(0); // none taken
    await admin.del(k.leases[1]);

    expect(await lease(k, 'A', 1, 200, 10_000)).toEqual([2, 'A']);
    expect(await admin.mget(...k.leases)).toEqual(['A', 'A']);
    expect(await lease(k, 'B', 1, 1000, 10_000)).toEqual([0, 'A']);
    await waitFor(async () => (await admin.exists(...k.leases)) === 0);
    expect(await lease(k, 'B', 1, 1000, 10_000)).toEqual([2, 'B']);
  });

  test('RELEASE deletes only the leases the given holder has', async () => {
    const k = keysOf(newPrefix());
    await admin.set(k.leases[0], 'A');
    await admin.set(k.leases[1], 'B');
    expect(await release(k, 'A')).toBe(1);
    expect(await admin.mget(...k.leases)).toEqual([null, 'B']);
    expect(await release(k, 'A')).toBe(0);
    expect(await admin.get(k.leases[1])).toBe('B');
  });
});

interface Instance {
  registry: AgentCircuitBreaker;
  clock: ManualClock;
  fleet: FleetSync;
  /** [from, to, reason] of every transition of `agent`. */
  moves: (agent?: string) => string[][];
}

/** A registry on a manual clock, attached to the fleet and past its first sync. */
async function instance(prefix: string, instanceId: string, opts: { defaults?: BreakerConfig; syncIntervalMs?: number; commandTimeoutMs?: number } = {}): Promise<Instance> {
  const clock = new ManualClock();
  const registry = new AgentCircuitBreaker({ agents: ['amazon', 'shopee'], clock, ...(opts.defaults ? { defaults: opts.defaults } : {}) });
  const events: TransitionEvent[] = [];
  registry.onTransition((e) => void events.push(e));
  // A generous command timeout: on a loaded machine a 200 ms timeout would drop the link mid-test.
  const fleet = attachFleet(registry, { redis: server.url, prefix, instanceId, syncIntervalMs: opts.syncIntervalMs ?? 100, commandTimeoutMs: opts.commandTimeoutMs ?? 2000 });
  fleets.push(fleet);
  await fleet.ready();
  expect(fleet.status().connected).toBe(true);
  const moves = (agent = 'amazon') => events.filter((e) => e.agent === agent).map((e) => [e.from, e.to, e.reason]);
  return { registry, clock, fleet, moves };
}

async function tripLocally(n: Instance): Promise<void> {
  for (let i = 0; i < 5; i++) await expect(n.registry.execute('amazon', boom)).rejects.toThrow('agent down');
  expect(n.registry.state('amazon')).toBe('OPEN');
}

/** A fleet event published by hand, as the scripts publish them. */
const publish = (prefix: string, agent: string, kind: 'open' | 'close', gen: number, origin: string, remainingMs = 0, session?: string) =>
  admin.spublish(keysOf(prefix, agent).channel, JSON.stringify({ agent, kind, gen, remainingMs, origin, session }));
/** The state hash and counter matching a hand-published event, so the reconcile loop agrees with it. */
const store = async (prefix: string, agent: string, state: 'open' | 'closed', gen: number, origin: string) => {
  const k = keysOf(prefix, agent);
  await admin.hset(k.state, { state, gen, until: state === 'open' ? (await redisNow()) + 600_000 : 0, origin });
  await admin.set(k.gen, gen);
};

describe('fleet sync between registries', () => {
  test('a trip in one instance opens the others (remote_open), which name its origin; it does not apply its own event', async () => {
    const p = newPrefix();
    const [a, b, c] = await Promise.all([instance(p, 'a'), instance(p, 'b'), instance(p, 'c')]);
    await tripLocally(a);
    await waitFor(() => b.registry.state('amazon') === 'OPEN' && c.registry.state('amazon') === 'OPEN');
    for (const n of [b, c]) {
      expect(n.moves()).toEqual([['CLOSED', 'OPEN', 'remote_open']]);
      const status = n.fleet.status();
      expect(status.agents.amazon.lastRemote).toMatchObject({ origin: 'a', to: 'OPEN', generation: 1 });
      expect(status.agents.amazon.generation).toBe(1);
      expect(status.remoteTransitions).toEqual([{ agent: 'amazon', from: 'CLOSED', to: 'OPEN', count: 1 }]);
    }
    // A later event on the same connection: once `a` has applied it, it has read its own trip's too.
    await publish(p, 'shopee', 'open', 1, 'x', 60_000);
    await waitFor(() => a.registry.state('shopee') === 'OPEN');
    expect(a.moves()).toEqual([['CLOSED', 'OPEN', 'failure_threshold']]);
    expect(a.fleet.status().agents.amazon.lastRemote).toBeNull();
    expect(a.fleet.status().remoteTransitions).toEqual([{ agent: 'shopee', from: 'CLOSED', to: 'OPEN', count: 1 }]);
  });

  test('events at or below the last applied generation, or from this instance, change nothing; a newer one applies', async () => {
    const p = newPrefix();
    const r = await instance(p, 'r', { syncIntervalMs: 600_000 }); // no reconcile: only events act
    await store(p, 'amazon', 'open', 5, 'x');
    await publish(p, 'amazon', 'open', 5, 'x', 60_000);
    await waitFor(() => r.registry.state('amazon') === 'OPEN');
    await store(p, 'amazon', 'closed', 6, 'x');
    await publish(p, 'amazon', 'close', 6, 'x');
    await waitFor(() => r.registry.state('amazon') === 'CLOSED');

    await publish(p, 'amazon', 'open', 6, 'x', 60_000); // same generation
    await publish(p, 'amazon', 'open', 3, 'x', 60_000); // older
    await publish(p, 'amazon', 'open', 7, 'r', 60_000, r.fleet['session']); // this process's own (its session)
    await publish(p, 'amazon', 'open', 1e9, 'x', 1e12); // out of range: dropped, and nothing throws
    await publish(p, 'shopee', 'open', 1, 'x', 60_000); // a marker: the events above were read before it
    await waitFor(() => r.registry.state('shopee') === 'OPEN');
    expect(r.registry.state('amazon')).toBe('CLOSED');
    expect(r.moves()).toEqual([['CLOSED', 'OPEN', 'remote_open'], ['OPEN', 'CLOSED', 'remote_close']]);

    await store(p, 'amazon', 'open', 8, 'x');
    await publish(p, 'amazon', 'open', 8, 'x', 60_000);
    await waitFor(() => r.registry.state('amazon') === 'OPEN');
    expect(r.moves().at(-1)).toEqual(['CLOSED', 'OPEN', 'remote_open']);
    expect(r.fleet.status().agents.amazon.lastRemote).toMatchObject({ origin: 'x', to: 'OPEN', generation: 8 });
  });

  test('a remote open ends by itself: HALF_OPEN after its remaining time on the breaker clock, not before', async () => {
    const p = newPrefix();
    const r = await instance(p, 'r');
    await publish(p, 'amazon', 'open', 1, 'x', 5000);
    await waitFor(() => r.registry.state('amazon') === 'OPEN');
    r.clock.advance(4999);
    expect(r.registry.state('amazon')).toBe('OPEN');
    r.clock.advance(1);
    expect(r.registry.state('amazon')).toBe('HALF_OPEN');
    expect(r.moves().at(-1)).toEqual(['OPEN', 'HALF_OPEN', 'open_timeout_elapsed']);
  });

  test('in HALF_OPEN only the lease holder probes; its probes close the breaker, and the others close (remote_close)', async () => {
    const p = newPrefix();
    const k = keysOf(p);
    const defaults = { openTimeoutMs: 500 };
    const [a, b] = await Promise.all([instance(p, 'a', { defaults }), instance(p, 'b', { defaults })]);
    await tripLocally(a);
    await waitFor(() => b.registry.state('amazon') === 'OPEN');
    for (const key of k.leases) await admin.set(key, 'elsewhere', 'PX', 60_000); // another instance holds the window
    b.clock.advance(500);
    expect(b.registry.state('amazon')).toBe('HALF_OPEN');
    await waitFor(() => b.fleet.status().agents.amazon.leaseHolders[0] === 'elsewhere');
    const probe = jest.fn(ok);
    await expect(b.registry.execute('amazon', probe, fallback)).resolves.toBe('fallback');
    expect(probe).not.toHaveBeenCalled();

    await admin.del(...k.leases);
    // A lease goes to an instance whose callers are waiting: this refused call is one.
    await expect(b.registry.execute('amazon', probe, fallback)).resolves.toBe('fallback');
    await waitFor(async () => (await admin.mget(...k.leases)).every((v) => v === 'b'));
    await waitFor(() => b.fleet.status().agents.amazon.leaseHolders[0] === 'b');
    expect(await b.registry.execute('amazon', probe, fallback)).toBe('ok');
    expect(await b.registry.execute('amazon', probe, fallback)).toBe('ok');
    expect(probe).toHaveBeenCalledTimes(2);
    expect(b.moves().at(-1)).toEqual(['HALF_OPEN', 'CLOSED', 'success_threshold']);
    await waitFor(() => a.registry.state('amazon') === 'CLOSED');
    expect(a.moves()).toEqual([['CLOSED', 'OPEN', 'failure_threshold'], ['OPEN', 'CLOSED', 'remote_close']]);
    expect(await admin.hget(k.state, 'state')).toBe('closed');
  });

  test('an instance without callers does not take the probe leases; the one whose calls are refused does, and closes', async () => {
    const p = newPrefix();
    const k = keysOf(p);
    const defaults = { openTimeoutMs: 300 };
    const [a, idle, busy] = await Promise.all([instance(p, 'a', { defaults }), instance(p, 'idle', { defaults }), instance(p, 'busy', { defaults })]);
    await tripLocally(a);
    await waitFor(() => idle.registry.state('amazon') === 'OPEN' && busy.registry.state('amazon') === 'OPEN');
    idle.clock.advance(300);
    busy.clock.advance(300);
    // Several lease ticks pass with the idle instance HALF_OPEN and no call: it takes nothing.
    await waitFor(() => idle.fleet.status().lastSyncAt !== null);
    await new Promise((r) => setTimeout(r, 400));
    expect(await admin.mget(...k.leases)).toEqual(k.leases.map(() => null));
    const probe = jest.fn(ok);
    await waitFor(async () => (await busy.registry.execute('amazon', probe, fallback)) === 'ok');
    await waitFor(() => busy.registry.state('amazon') === 'CLOSED' || (void busy.registry.execute('amazon', probe, fallback).catch(() => 0), false));
    await waitFor(() => idle.registry.state('amazon') === 'CLOSED');
    expect(probe).toHaveBeenCalledTimes(2);
    expect(idle.moves().at(-1)).toEqual(['HALF_OPEN', 'CLOSED', 'remote_close']);
  });

  test('a window allows successThreshold probes when that is more than halfOpenMaxCalls, so it can close', async () => {
    const p = newPrefix();
    const defaults = { openTimeoutMs: 300, successThreshold: 3, halfOpenMaxCalls: 1 };
    const [a, b] = await Promise.all([instance(p, 'a', { defaults }), instance(p, 'b', { defaults })]);
    await tripLocally(a);
    await waitFor(() => b.registry.state('amazon') === 'OPEN');
    b.clock.advance(300);
    const probe = jest.fn(ok);
    // One probe at a time (halfOpenMaxCalls 1), three in the window: the third closes it.
    await waitFor(async () => (await b.registry.execute('amazon', probe, fallback)) === 'ok' && probe.mock.calls.length === 3);
    expect(b.registry.state('amazon')).toBe('CLOSED');
    expect(b.moves().at(-1)).toEqual(['HALF_OPEN', 'CLOSED', 'success_threshold']);
    await waitFor(() => a.registry.state('amazon') === 'CLOSED');
  });

  test('forceOpen() while the agent is open fleet-wide keeps the fleet\'s end, not a fresh open timeout', async () => {
    const p = newPrefix();
    const [a, b] = await Promise.all([instance(p, 'a'), instance(p, 'b')]);
    await tripLocally(a);
    await waitFor(() => b.registry.state('amazon') === 'OPEN');
    await new Promise((r) => setTimeout(r, 100)); // the fleet's open has 100 ms less left
    b.registry.forceOpen('amazon'); // locally a fresh 60 s
    expect(b.registry.status('amazon').openRemainingMs).toBe(60_000);
    await waitFor(() => b.registry.status('amazon').openRemainingMs <= 59_950);
    expect((await admin.hgetall(keysOf(p).state)).origin).toBe('a');
  });

  test('a manual reset() on one instance closes the others (remote_close)', async () => {
    const p = newPrefix();
    const [a, b, c] = await Promise.all([instance(p, 'a'), instance(p, 'b'), instance(p, 'c')]);
    a.registry.forceOpen('amazon');
    await waitFor(() => b.registry.state('amazon') === 'OPEN' && c.registry.state('amazon') === 'OPEN');
    b.registry.reset('amazon');
    await waitFor(() => a.registry.state('amazon') === 'CLOSED' && c.registry.state('amazon') === 'CLOSED');
    for (const n of [a, c]) expect(n.moves().at(-1)).toEqual(['OPEN', 'CLOSED', 'remote_close']);
    expect(c.fleet.status().agents.amazon.lastRemote).toMatchObject({ origin: 'b', to: 'CLOSED' });
    expect(await admin.hgetall(keysOf(p).state)).toMatchObject({ state: 'closed', origin: 'b' });
  });

  test('isolate() holds only the instance it is called on: the fleet does not hear of it', async () => {
    const p = newPrefix();
    const [a, b] = await Promise.all([instance(p, 'a'), instance(p, 'b')]);
    const release = a.registry.isolate('amazon');
    const synced = b.fleet.status().lastSyncAt;
    await waitFor(() => b.fleet.status().lastSyncAt !== synced && a.fleet.status().lastSyncAt !== null); // a full reconcile later
    await new Promise((r) => setTimeout(r, 150));
    expect([a.registry.state('amazon'), b.registry.state('amazon')]).toEqual(['OPEN', 'CLOSED']);
    expect(await admin.exists(keysOf(p).state)).toBe(0);
    release();
  });

  test('a reset decided while Redis is out of reach is sent when it is back: the others close', async () => {
    const p = newPrefix();
    const [a, b] = await Promise.all([instance(p, 'a', { commandTimeoutMs: 100 }), instance(p, 'b', { commandTimeoutMs: 100 })]);
    await tripLocally(a);
    await waitFor(() => b.registry.state('amazon') === 'OPEN');
    server.signal('SIGSTOP');
    try {
      await waitFor(() => !a.fleet.status().connected && !b.fleet.status().connected);
      a.registry.reset('amazon');
    } finally {
      server.signal('SIGCONT');
    }
    await waitFor(() => b.registry.state('amazon') === 'CLOSED');
    expect(b.moves().at(-1)).toEqual(['OPEN', 'CLOSED', 'remote_close']);
    expect(b.fleet.status().agents.amazon.lastRemote).toMatchObject({ origin: 'a', to: 'CLOSED' });
  });

  test('an instance restarted with the same instanceId as the origin of the open starts OPEN too', async () => {
    const p = newPrefix();
    const first = await instance(p, 'pod-0');
    await tripLocally(first);
    await first.fleet.close();
    const again = await instance(p, 'pod-0');
    expect(again.registry.state('amazon')).toBe('OPEN');
    expect(again.moves()).toEqual([['CLOSED', 'OPEN', 'remote_open']]);
  });

  test('a fresh instance attached while the agent is open fleet-wide starts OPEN and answers with the fallback', async () => {
    const p = newPrefix();
    const a = await instance(p, 'a');
    await tripLocally(a);
    await waitFor(async () => (await admin.hget(keysOf(p).state, 'state')) === 'open');
    const fresh = await instance(p, 'fresh');
    expect(fresh.registry.state('amazon')).toBe('OPEN');
    expect(fresh.moves()).toEqual([['CLOSED', 'OPEN', 'remote_open']]);
    const agent = jest.fn(ok);
    expect(await fresh.registry.execute('amazon', agent, fallback)).toBe('fallback');
    expect(agent).not.toHaveBeenCalled();
  });

  test('fleet sync never keeps the process alive by itself: a script that attached it exits when its work is done', async () => {
    const { spawnSync } = await import('node:child_process');
    const lib = require.resolve('../../lib/resilience/index.js');
    const script = `const { AgentCircuitBreaker } = require(${JSON.stringify(lib)});
      const { attachFleet } = require(${JSON.stringify(lib.replace(/index\.js$/, 'fleet.js'))});
      const fleet = attachFleet(new AgentCircuitBreaker({ agents: ['amazon'] }), { redis: ${JSON.stringify(server.url)} });
      fleet.ready().then(() => console.log('connected', fleet.status().connected));`;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 });
    expect([run.status, run.stdout.trim()]).toEqual([0, 'connected true']);
  });

  test('bad options are ERR_INVALID_ARG naming the option', async () => {
    const registry = new AgentCircuitBreaker({ agents: ['amazon'] });
    const cases: [unknown, string][] = [
      [{ redis: server.url, prefix: 'app{1}:' }, 'prefix'],
      [{ redis: server.url, syncIntervalMs: 0 }, 'syncIntervalMs'],
      [{ redis: 42 }, 'redis'],
    ];
    for (const [options, name] of cases) {
      const error = await caught(() => attachFleet(registry, options as FleetOptions));
      expect(error).toBeInstanceOf(CircuitBreakerError);
      expect(error.code).toBe('ERR_INVALID_ARG');
      expect(error.message).toContain(`fleet option ${name} `);
    }
  });
});
