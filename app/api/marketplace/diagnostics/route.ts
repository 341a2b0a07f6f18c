/** GET /api/marketplace/diagnostics: every agent's breaker state, recommendation and metrics. */

import { getAgentLoop } from '../../../lib/ai/agent-loop';
import { denyReader } from '../../../lib/http/auth';
import { diagnostics } from '../../../lib/http/diagnostics';
import { json } from '../../../lib/http/response';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export function GET(request: Request): Response {
  return denyReader(request) ?? json(diagnostics(getAgentLoop()));
}
