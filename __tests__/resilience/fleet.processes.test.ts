/**
 * Fleet mode across processes: three forked app instances (fixtures/fleet-worker.js, each with its
 * own agent loop and fleet link), one real redis-server and one loopback agent. Trips spread,
 * recoveries are probed by one lease holder, and nothing waits on Redis when it is frozen,
 * paused or killed.
 */

import * as net from 'node:net';
import Redis from 'ioredis';
import { AgentServer, eventually } from './helpers/agent-server';
import { FleetWorker, percentile, type WorkerOptions } from './helpers/fleet-workers';
import { RedisServer } from './helpers/redis-server';

jest.setTimeout(120_000);

let redis: RedisServer;
let admin: Redis;
let agent: AgentServer;
let workers: FleetWorker[] = [];
let round = 0;

beforeAll(async () => {
  redis = await RedisServer.start();
  admin = new Redis(redis.url);
  agent = await AgentServer.start();
});

afterEach(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  workers = [];
  agent.mode = 'ok';
});

afterAll(async () => {
  admin.disconnect();
  await agent.close();
  await redis.stop();
});

/** Starts `n` instances sharing a fresh key prefix. */
async function fleet(n: number, options: Partial<WorkerOptions> = {}, prefix = `fleet-${++round}:`): Promise<FleetWorker[]> {
  const started = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      FleetWorker.start({ redisUrl: redis.url, agentUrl: agent.url, prefix, instanceId: `${prefix}${'ABCDEFG'[i]}`, ...options }),
    ),
  );
  workers.push(...started);
  return started;
}

/** Makes `w` trip: five failing calls (the agent answers 500). Returns the transition's wall time. */
async function trip(w: FleetWorker): Promise<number> {
  agent.mode = 'http500';
  const from = w.seen.length;
  for (let i = 0; i < 5; i++) await w.ask('call');
  const seen = await w.transition(from, (e) => e.to === 'OPEN');
  expect(seen?.event.reason).toBe('failure_threshold');
  return seen!.at;
}

/** Waits until every worker in `ws` reports a transition to `to` after index `from[i]`; their wall times. */
async function allReach(ws: FleetWorker[], from: number[], ok: (e: { to: string; reason: string }) => boolean, ms = 5000): Promise<number[]> {
  const seen = await Promise.all(ws.map((w, i) => w.transition(from[i], ok, ms)));
  seen.forEach((s, i) => expect([ws[i].id, s === undefined]).toEqual([ws[i].id, false]));
  return seen.map((s) => s!.at);
}

const marks = (ws: FleetWorker[]) => ws.map((w) => w.seen.length);

test('a trip in one instance opens every other within 250 ms p99, over 50 trips; they answer with fallbacks, not the agent', async () => {
  const [a, b, c] = await fleet(3, { defaults: { openTimeoutMs: 60_000 }, commandTimeoutMs: 2_000 });
  const delays: number[] = [];
  for (let i = 0; i < 50; i++) {
    const from = marks([b, c]);
    const at = await trip(a);
    const opened = await allReach([b, c], from, (e) => e.to === 'OPEN' && e.reason === 'remote_open');
    delays.push(...opened.map((t) => t - at));
    const before = agent.requests;
    expect((await b.ask('call')).source).toBe('fallback');
    expect((await c.ask('call')).source).toBe('fallback');
    expect(agent.requests).toBe(before);
    const closing = marks([b, c]);
    await a.ask('reset');
    await allReach([b, c], closing, (e) => e.to === 'CLOSED' && e.reason === 'remote_close');
  }
  expect(delays).toHaveLength(100);
  expect(percentile(delays, 99)).toBeLessThanOrEqual(250);
});

/** A loopback TCP proxy to Redis that can go deaf: it keeps the connection and drops what Redis sends. */
async function deafProxy(port: number): Promise<{ url: string; deaf: boolean; close(): void }> {
  const sockets = new Set<net.Socket>();
  const state = { deaf: false };
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => state.deaf || client.write(d));
    const end = () => (client.destroy(), upstream.destroy());
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return {
    url,
    set deaf(v: boolean) {
      state.deaf = v;
    },
    get deaf() {
      return state.deaf;
    },
    close() {
      sockets.forEach((s) => s.destroy());
      server.close();
    },
  };
}

test('with the subscriber cut (CLIENT KILL TYPE pubsub, or deaf), the others still open within one sync interval + 250 ms', async () => {
  const syncIntervalMs = 500;
  const proxy = await deafProxy(redis.port);
  try {
    const [a, b, c] = await fleet(3, { defaults: { openTimeoutMs: 60_000 }, syncIntervalMs, subscriberUrl: proxy.url });
    for (const cut of ['kill', 'kill', 'kill', 'deaf', 'deaf', 'deaf']) {
      if (cut === 'kill') {
        // Every subscriber is back from the last cut (ioredis reconnects and resubscribes by itself).
        const subscribers = async () => String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub')).trim().split('\n').filter(Boolean).length;
        expect(await eventually(async () => (await subscribers()) >= 3, 5_000)).toBe(true);
        expect(Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub'))).toBeGreaterThanOrEqual(3);
      }
      else proxy.deaf = true;
      const from = marks([b, c]);
      const at = await trip(a);
      const opened = await allReach([b, c], from, (e) => e.to === 'OPEN' && e.reason === 'remote_open');
      for (const t of opened) expect(t - at).toBeLessThanOrEqual(syncIntervalMs + 250);
      const closing = marks([b, c]);
      await a.ask('reset');
      await allReach([b, c], closing, (e) => e.to === 'CLOSED');
    }
  } finally {
    proxy.close();
  }
});

test('recovery: at most halfOpenMaxCalls (2) probes reach the agent fleet-wide per recovery window, over 20 recoveries with 300 ms probes', async () => {
  // A busy CI machine (other suites installing packages) must not drop the link: that would be an
  // outage, with local rules (and every instance probing) by design.
  const ws = await fleet(3, { defaults: { openTimeoutMs: 300, probeTimeoutMs: 5_000 }, callTimeoutMs: 5_000, commandTimeoutMs: 2_000 });
  agent.slowMs = 300;
  await Promise.all(ws.map((w) => w.ask('load', { everyMs: 10 })));
  const probes: number[] = [];
  for (let i = 0; i < 20; i++) {
    const from = marks(ws);
    agent.mode = 'http500';
    await allReach(ws, from, (e) => e.to === 'OPEN');
    await new Promise((r) => setTimeout(r, 20)); // calls admitted before the open have reached the agent
    const mark = agent.arrivals.length;
    agent.mode = 'slow';
    const closed = await allReach(ws, from, (e) => e.to === 'CLOSED');
    // The recovery window: from the first instance seeing HALF_OPEN to the first close. (A call
    // admitted just before the trip may reach a busy agent after `mark`; it is not in the window.)
    const halfOpen = ws.map((w, k) => w.seen.slice(from[k]).find((s) => s.event.to === 'HALF_OPEN')?.at ?? Infinity);
    const [start, end] = [Math.min(...halfOpen), Math.min(...closed)];
    probes.push(agent.arrivals.slice(mark).filter((t) => t >= start && t < end).length);
  }
  await Promise.all(ws.map((w) => w.ask('unload')));
  const links = await Promise.all(ws.map(async (w) => ((await w.ask('status')).fleet as { syncErrors: number }).syncErrors));
  expect(links).toEqual([0, 0, 0]); // the link stayed up: these windows ran on leases
  expect(Math.max(...probes)).toBeLessThanOrEqual(2);
  expect(Math.min(...probes)).toBeGreaterThanOrEqual(1);
});

test('the lease holder killed mid-probe: another instance probes once the lease expires, and the fleet closes', async () => {
  const prefix = `fleet-${++round}:`;
  const ws = await fleet(3, { defaults: { openTimeoutMs: 300, probeTimeoutMs: 30_000 }, callTimeoutMs: 30_000, leaseTtlMs: 1_000, commandTimeoutMs: 2_000 }, prefix);
  await Promise.all(ws.map((w) => w.ask('load', { everyMs: 20 })));
  const from = marks(ws);
  agent.mode = 'http500';
  await allReach(ws, from, (e) => e.to === 'OPEN');
  agent.mode = 'hang';
  // Wait for the window's lease holder, then for its probe to reach the (hanging) agent.
  let holder: string | null = null;
  const leased = async () => {
    holder = await admin.get(`${prefix}{amazon}:lease:0`);
    return ws.some((w) => w.id === holder);
  };
  expect(await eventually(leased, 5_000)).toBe(true);
  const mark = agent.requests;
  expect(await eventually(() => agent.requests > mark, 5_000)).toBe(true);
  const victim = ws.find((w) => w.id === holder)!;
  const killedAt = Date.now();
  await victim.stop();
  agent.mode = 'ok';
  const rest = ws.filter((w) => w !== victim);
  const closed = await allReach(rest, rest.map((w) => w.seen.length), (e) => e.to === 'CLOSED', 10_000);
  expect(Math.min(...closed) - killedAt).toBeGreaterThanOrEqual(500); // the dead holder's lease had to expire first
  const reasons = rest.map((w) => w.seen.filter((s) => s.event.to === 'CLOSED').at(-1)!.event.reason).sort();
  expect(reasons).toEqual(['remote_close', 'success_threshold']);
  await Promise.all(rest.map((w) => w.ask('unload')));
});

let pauseEnds = 0;
const outages: Array<[string, () => Promise<void>, () => Promise<void>]> = [
  ['frozen (SIGSTOP)', async () => redis.signal('SIGSTOP'), async () => redis.signal('SIGCONT')],
  [
    'paused (CLIENT PAUSE ALL)',
    async () => {
      pauseEnds = Date.now() + 2_500;
      await admin.call('CLIENT', 'PAUSE', '2500', 'ALL');
    },
    () => new Promise((r) => setTimeout(r, Math.max(0, pauseEnds - Date.now()))),
  ],
  ['killed', () => redis.stop(), () => redis.restart()],
];

test.each(outages)('Redis %s: no call waits on it, a local trip still works, and the others open within one interval of its return', async (_name, down, up) => {
  const syncIntervalMs = 500;
  const [a, b, c] = await fleet(3, { defaults: { openTimeoutMs: 60_000 }, syncIntervalMs });
  await Promise.all([a, b, c].map((w) => w.ask('load', { everyMs: 20 })));
  await new Promise((r) => setTimeout(r, 300));
  await down();
  await new Promise((r) => setTimeout(r, 1_000)); // every link has noticed by now
  const slowest = await Promise.all([a, b, c].map((w) => w.ask('unload')));
  for (const s of slowest) expect(s.slowest as number).toBeLessThan(250); // the agent answers at once; no call waited on Redis
  const from = marks([b, c]);
  await trip(a); // counted and opened locally, Redis out of reach
  expect(await b.state()).toBe('CLOSED');
  await up();
  const back = Date.now();
  const opened = await allReach([b, c], from, (e) => e.to === 'OPEN' && e.reason === 'remote_open', 5_000);
  for (const t of opened) expect(t - back).toBeLessThanOrEqual(syncIntervalMs + 250);
});

test('a fresh instance started while an agent is open fleet-wide answers its first call with a fallback, without calling it', async () => {
  const prefix = `fleet-${++round}:`;
  const [a] = await fleet(1, { defaults: { openTimeoutMs: 60_000 } }, prefix);
  await trip(a);
  agent.mode = 'ok';
  const fresh = await FleetWorker.start({ redisUrl: redis.url, agentUrl: agent.url, prefix, instanceId: `${prefix}fresh`, defaults: { openTimeoutMs: 60_000 } });
  workers.push(fresh);
  const before = agent.requests;
  expect((await fresh.ask('call')).source).toBe('fallback');
  expect(agent.requests).toBe(before);
  expect(fresh.seen.map((s) => s.event.reason)).toEqual(['remote_open']);
});
