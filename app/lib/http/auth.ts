/**
 * Access to the operator endpoints: a bearer token from `DIAGNOSTICS_TOKEN`, compared in constant
 * time. Diagnostics and metrics are open when no token is set; operator actions never are.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import { json } from './response';

/** Whether `authorization` carries `Bearer <token>`, compared in constant time (hashes of equal length). */
export function bearerMatches(authorization: string | null, token: string): boolean {
  const given = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1] ?? '';
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b) && given.length > 0;
}

/** 401 unless the request may read diagnostics and metrics (no token set, or the right one given). */
export function denyReader(request: Request, env: NodeJS.ProcessEnv = process.env): Response | undefined {
  const token = env.DIAGNOSTICS_TOKEN;
  if (!token) return undefined;
  if (bearerMatches(request.headers.get('authorization'), token)) return undefined;
  return json({ error: 'unauthorized: send Authorization: Bearer <DIAGNOSTICS_TOKEN>' }, 401, {
    'www-authenticate': 'Bearer',
  });
}

/** 403 when operator actions are off (no token set), 401 without the right token, else undefined. */
export function denyOperator(request: Request, env: NodeJS.ProcessEnv = process.env): Response | undefined {
  const token = env.DIAGNOSTICS_TOKEN;
  if (!token) return json({ error: 'operator actions are off: set DIAGNOSTICS_TOKEN to enable them' }, 403);
  return denyReader(request, env);
}
