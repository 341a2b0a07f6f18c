/** The agent loop's test rig: an injected transport standing for the five agents, and a loop set up around it. */

import { ManualClock } from 'agent-circuit-breaker';
import { AgentLoop, type AgentLoopOptions, type Logger } from '../../../app/lib/ai/agent-loop';
import { MemoryCache } from '../../../app/lib/ai/fallback-cache';
import type { AgentRequest, AgentResponse, Transport } from '../../../app/lib/ai/transport';

/** An environment giving each of the five agents a URL (nothing listens there). */
export const ENV = {
  AGENT_AMAZON_URL: 'http://127.0.0.1:9/amazon',
  AGENT_MERCADOLIVRE_URL: 'http://127.0.0.1:9/mercadolivre',
  AGENT_SHOPEE_URL: 'http://127.0.0.1:9/shopee',
  AGENT_SHEIN_URL: 'http://127.0.0.1:9/shein',
  AGENT_TIKTOK_SHOP_URL: 'http://127.0.0.1:9/tiktok-shop',
};

/** A transport whose answer per agent a test sets; it records every request. */
export class FakeAgents {
  readonly seen: AgentRequest[] = [];
  answers = new Map<string, () => Promise<AgentResponse>>();
  readonly transport: Transport = (req) => {
    this.seen.push(req);
    const answer = this.answers.get(req.agentId) ?? (() => this.ok({ phases: [req.agentId] }));
    return answer();
  };
  ok(body: unknown): Promise<AgentResponse> {
    return Promise.resolve({ status: 200, body: JSON.stringify(body) });
  }
  set(agent: string, answer: () => Promise<AgentResponse>) {
    this.answers.set(agent, answer);
  }
  fail(agent: string, status = 500) {
    this.set(agent, () => Promise.resolve({ status, body: '{}' }));
  }
  calls(agent: string): number {
    return this.seen.filter((r) => r.agentId === agent).length;
  }
}

/** A logger that drops every line. */
export const silent: Logger = { info: () => undefined, warn: () => undefined };

/** A loop over fake agents, a manual clock and a memory cache; `options` override any of them. */
export function setup(options: AgentLoopOptions = {}) {
  const agents = new FakeAgents();
  const clock = new ManualClock();
  const cache = new MemoryCache();
  const loop = new AgentLoop({ env: ENV, transport: agents.transport, clock, cache, logger: silent, ...options });
  return { agents, clock, cache, loop };
}
