/** GET /api/marketplace/metrics: Prometheus text exposition of the breaker metrics. */

import { denyReader } from '../../../lib/http/auth';
import { metricsRegistry } from '../../../lib/http/metrics-registry';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export async function GET(request: Request): Promise<Response> {
  const denied = denyReader(request);
  if (denied) return denied;
  const registry = metricsRegistry();
  return new Response(await registry.metrics(), {
    headers: { 'content-type': registry.contentType, 'cache-control': 'no-store' },
  });
}
