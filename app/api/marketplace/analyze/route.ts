/** POST /api/marketplace/analyze: runs the agent loop over `{ input, agents? }`; one result per agent. */

import { getAgentLoop } from '../../../lib/ai/agent-loop';
import { json } from '../../../lib/http/auth';
import { readAnalyzeRequest } from '../../../lib/http/request';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export async function POST(request: Request): Promise<Response> {
  const loop = getAgentLoop();
  const checked = await readAnalyzeRequest(request, loop.breakers.agents());
  if (checked instanceof Response) return checked;
  const results = await loop.runAgentLoop(checked.input, checked.agents);
  return json({ results });
}
