/**
 * POST /api/marketplace/diagnostics/<agent>/reset and /force-open: operator actions. They need
 * `Authorization: Bearer <DIAGNOSTICS_TOKEN>`, and are off when no token is set. force-open holds the
 * breaker OPEN (`isolate()`) until a reset: it does not recover by itself behind the operator's back.
 */

import { getAgentLoop } from '../../../../../lib/ai/agent-loop';
import { denyOperator } from '../../../../../lib/http/auth';
import { diagnose } from '../../../../../lib/http/diagnostics';
import { json } from '../../../../../lib/http/response';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

const ACTIONS = ['reset', 'force-open'];

export async function POST(request: Request, context: { params: Promise<{ agent: string; action: string }> }): Promise<Response> {
  const denied = denyOperator(request);
  if (denied) return denied;
  const { agent, action } = await context.params;
  if (!ACTIONS.includes(action)) return json({ error: `unknown action ${JSON.stringify(action)}: use reset or force-open` }, 404);
  const loop = getAgentLoop();
  if (!loop.breakers.has(agent)) {
    return json({ error: `unknown agent ${JSON.stringify(agent)}: known agents are ${loop.breakers.agents().join(', ')}` }, 404);
  }
  if (action === 'reset') loop.breakers.reset(agent);
  else loop.breakers.isolate(agent); // held until reset, which ends every hold
  return json({ agent, action, ...diagnose(loop.getCircuitBreakerStatus(agent), loop.fallbacksServed(agent)) });
}
