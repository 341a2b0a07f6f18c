/**
 * Fleet mode in the app: `REDIS_URL` turns it on (unless `CIRCUIT_SHARED_STATE=off`), its settings
 * are checked at start-up, and the diagnostics document and the Prometheus metrics show the fleet
 * link. Two agent loops share a real redis-server and call a real loopback agent.
 */

import Redis from 'ioredis';
import { MARKETPLACE_AGENTS } from 'agent-circuit-breaker';
import { AgentConfigError, configFromEnv, urlVariable } from '../../app/lib/ai/agent-config';
import { AgentLoop } from '../../app/lib/ai/agent-loop';
import { diagnostics } from '../../app/lib/http/diagnostics';
import { registerCircuitMetrics } from 'agent-circuit-breaker/prometheus';
import { AgentServer, eventually } from './helpers/agent-server';
import { RedisServer } from './helpers/redis-server';

const silent = { info: () => undefined, warn: () => undefined };
let redis: RedisServer;
let agent: AgentServer;
const loops: AgentLoop[] = [];

beforeAll(async () => {
  [redis, agent] = await Promise.all([RedisServer.start(), AgentServer.start()]);
});

afterAll(async () => {
  await Promise.all(loops.map((l) => l.close()));
  await agent.close();
  await redis.stop();
});

const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ AGENT_AMAZON_URL: agent.url, REDIS_URL: redis.url, ...extra });

function loop(extra: NodeJS.ProcessEnv = {}): AgentLoop {
  const l = new AgentLoop({ env: env(extra), agents: ['amazon'], logger: silent });
  loops.push(l);
  return l;
}

describe('fleet mode settings', () => {
  test('on with REDIS_URL, off without it or with CIRCUIT_SHARED_STATE=off; interval and prefix have defaults', () => {
    const on = configFromEnv(env(), ['amazon']);
    expect([on.sharedState, on.syncIntervalMs, on.redisPrefix]).toEqual([true, 1000, 'agent-circuit-breaker:']);
    expect(configFromEnv({ AGENT_AMAZON_URL: agent.url }, ['amazon']).sharedState).toBe(false);
    expect(configFromEnv(env({ CIRCUIT_SHARED_STATE: 'off' }), ['amazon']).sharedState).toBe(false);
    expect(configFromEnv(env({ CIRCUIT_SYNC_INTERVAL_MS: '250', CIRCUIT_REDIS_PREFIX: 'shop-a:' }), ['amazon'])).toMatchObject({
      syncIntervalMs: 250,
      redisPrefix: 'shop-a:',
    });
  });

  test.each([
    ['CIRCUIT_SHARED_STATE', 'maybe', /CIRCUIT_SHARED_STATE must be on or off/],
    ['CIRCUIT_SYNC_INTERVAL_MS', '10', /CIRCUIT_SYNC_INTERVAL_MS must be an integer in 50..=600000/],
    ['CIRCUIT_REDIS_PREFIX', 'a{b}:', /CIRCUIT_REDIS_PREFIX must be at most 200 characters, without braces/],
  ])('a bad %s stops start-up with a message naming it', (variable, value, message) => {
    let error: unknown;
    try {
      configFromEnv(env({ [variable]: value }), ['amazon']);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AgentConfigError);
    expect((error as AgentConfigError).variable).toBe(variable);
    expect((error as Error).message).toMatch(message);
  });

  test('CIRCUIT_SHARED_STATE=off: no fleet link, and the diagnostics say so (fleet: null)', async () => {
    const l = loop({ CIRCUIT_SHARED_STATE: 'off', CIRCUIT_REDIS_PREFIX: 'app-off:' });
    expect(l.fleet).toBeUndefined();
    expect(diagnostics(l).fleet).toBeNull();
    expect(diagnostics(l).agents.amazon.fleet).toBeNull();
  });
});

test('server start-up (instrumentation) waits for the first sync: the process\'s loop starts from the fleet\'s state', async () => {
  const settings = { CIRCUIT_REDIS_PREFIX: 'app-start:' };
  const a = loop(settings);
  await a.fleet!.ready();
  a.breakers.forceOpen('amazon');
  const admin = new Redis(redis.url);
  expect(await eventually(async () => (await admin.hget('app-start:{amazon}:state', 'state')) === 'open')).toBe(true);
  admin.disconnect();
  const saved = { ...process.env };
  // The process's loop serves the five marketplace agents: each needs a URL.
  const urls = Object.fromEntries(MARKETPLACE_AGENTS.map((id) => [urlVariable(id), agent.url]));
  Object.assign(process.env, env(settings), urls);
  try {
    const { start } = await import('../../app/lib/ai/startup');
    await start();
    // start() made the app's metrics, subscribed to every call in this process: not past this test.
    (await import('../../app/lib/http/metrics-registry')).closeMetricsRegistry();
    const { getAgentLoop } = await import('../../app/lib/ai/agent-loop');
    loops.push(getAgentLoop());
    expect(getAgentLoop().fleet!.status().lastSyncAt).not.toBeNull();
    expect(getAgentLoop().getCircuitBreakerStatus('amazon').state).toBe('OPEN');
  } finally {
    process.env = saved;
  }
});

test('a trip through one agent loop opens the other; its diagnostics and metrics show the fleet link and the origin', async () => {
  const settings = { CIRCUIT_REDIS_PREFIX: 'app-fleet:', CIRCUIT_SYNC_INTERVAL_MS: '200' };
  const [a, b] = [loop(settings), loop(settings)];
  await Promise.all([a.fleet!.ready(), b.fleet!.ready()]);
  agent.mode = 'http500';
  for (let i = 0; i < 5; i++) expect((await a.callAgent('amazon', { sku: 'B0C1' })).fallback).toBe(true);
  expect(await eventually(() => b.getCircuitBreakerStatus('amazon').state === 'OPEN')).toBe(true);

  const requests = agent.requests;
  const answer = await b.callAgent('amazon', { sku: 'B0C1' });
  expect([answer.fallback, answer.fallback && answer.fallbackReason]).toEqual([true, 'circuit_open']);
  expect(agent.requests).toBe(requests);

  // b counts the instances at its syncs: one that ran before a's first one saw only itself.
  expect(await eventually(() => b.fleet!.status().instancesSeen === 2)).toBe(true);
  const doc = diagnostics(b);
  expect(doc.fleet).toMatchObject({ instanceId: b.fleet!.instanceId, connected: true, instancesSeen: 2, syncErrors: 0 });
  expect(doc.agents.amazon.fleet).toMatchObject({ shared: true, lastRemote: { origin: a.fleet!.instanceId, to: 'OPEN' } });
  expect(doc.agents.amazon.recommendation).toMatch(new RegExp(`^open fleet-wide: opened by instance ${a.fleet!.instanceId}; retry after \\d+ s`));

  const metrics = await registerCircuitMetrics({ breakers: b.breakers, fleet: () => b.fleet!.status() }).metrics();
  expect(metrics).toContain('agent_circuit_redis_up 1');
  expect(metrics).toContain('agent_circuit_sync_errors_total 0');
  expect(metrics).toContain('agent_circuit_remote_transitions_total{agent="amazon",from="CLOSED",to="OPEN"} 1');

  // The operator's reset through the first loop closes the other too.
  a.breakers.reset('amazon');
  expect(await eventually(() => b.getCircuitBreakerStatus('amazon').state === 'CLOSED')).toBe(true);
  agent.mode = 'ok';
});
