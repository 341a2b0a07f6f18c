/** POST /api/marketplace/analyze: runs the agent loop over `{ input, agents? }`; one result per agent. */

import { getAgentLoop } from '../../../lib/ai/agent-loop';
import { readAnalyzeRequest } from '../../../lib/http/request';
import { json } from '../../../lib/http/response';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export async function POST(request: Request): Promise<Response> {
  const loop = getAgentLoop();
  const checked = await readAnalyzeRequest(request, loop.breakers.agents());
  if (checked instanceof Response) return checked;
  try {
    return json({ results: await loop.runAgentLoop(checked.input, checked.agents) });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_INVALID_INPUT' || code === 'ERR_UNKNOWN_AGENT') {
      return json({ error: (error as Error).message }, 400);
    }
    throw error;
  }
}
