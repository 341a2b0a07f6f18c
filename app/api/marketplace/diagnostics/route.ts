/** GET /api/marketplace/diagnostics: every agent's breaker state, recommendation and metrics. */

import { getAgentLoop } from '../../../lib/ai/agent-loop';
import { denyReader, json } from '../../../lib/http/auth';
import { diagnostics } from '../../../lib/http/diagnostics';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export function GET(request: Request): Response {
  return denyReader(request) ?? json(diagnostics(getAgentLoop()));
}
