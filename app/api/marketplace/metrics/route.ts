/**
 * GET /api/marketplace/metrics: the breaker metrics in Prometheus text, or OpenMetrics when the
 * `Accept` header asks for `application/openmetrics-text`.
 */

import { denyReader } from '../../../lib/http/auth';
import { metricsRegistry } from '../../../lib/http/metrics-registry';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export async function GET(request: Request): Promise<Response> {
  const denied = denyReader(request);
  if (denied) return denied;
  const registry = metricsRegistry(request.headers.get('accept'));
  return new Response(await registry.metrics(), {
    headers: { 'content-type': registry.contentType, 'cache-control': 'no-store', vary: 'accept' },
  });
}
