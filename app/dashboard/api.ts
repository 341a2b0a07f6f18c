/** The dashboard's two calls to the diagnostics route: read the document, run an operator action. */

import type { DiagnosticsDocument, Notice, OperatorAction } from './types';

/** The route the dashboard polls. */
export const DIAGNOSTICS_URL = '/api/marketplace/diagnostics';

/** What one read of the diagnostics gave. */
export type DiagnosticsRead =
  | { kind: 'ok'; doc: DiagnosticsDocument }
  | { kind: 'unauthorized' }
  | { kind: 'error'; message: string };

/** Request headers carrying the bearer token, when there is one. */
function headers(token: string | null): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** The `error` field of a JSON error answer, else the status line. */
async function errorOf(res: Response): Promise<string> {
  const body = (await res.json().catch(() => null)) as { error?: unknown } | null;
  return typeof body?.error === 'string' ? body.error : `HTTP ${res.status} ${res.statusText}`.trim();
}

/**
 * One GET of the diagnostics document; never throws (a network failure is an `error` read). The
 * route answers `Cache-Control: no-store`, so every poll reaches the server.
 */
export async function readDiagnostics(token: string | null, signal: AbortSignal): Promise<DiagnosticsRead> {
  try {
    const res = await fetch(DIAGNOSTICS_URL, { headers: headers(token), signal });
    if (res.status === 401) return { kind: 'unauthorized' };
    if (!res.ok) return { kind: 'error', message: await errorOf(res) };
    return { kind: 'ok', doc: (await res.json()) as DiagnosticsDocument };
  } catch (error) {
    return { kind: 'error', message: `diagnostics unreachable: ${(error as Error).message}` };
  }
}

/** Words for each action, as the buttons and notices name them. */
export const ACTION_NAMES: Record<OperatorAction, string> = { reset: 'Reset', 'force-open': 'Hold open' };

/** POSTs one operator action for one agent; resolves to the notice to announce (never throws). */
export async function runAction(agent: string, action: OperatorAction, token: string | null): Promise<Notice> {
  const what = `${ACTION_NAMES[action]} ${agent}`;
  try {
    const url = `${DIAGNOSTICS_URL}/${encodeURIComponent(agent)}/${action}`;
    const res = await fetch(url, { method: 'POST', headers: headers(token) });
    if (!res.ok) return { ok: false, text: `${what} refused (${res.status}): ${await errorOf(res)}` };
    const body = (await res.json()) as { state?: string };
    return { ok: true, text: `${what}: done, now ${body.state ?? 'updated'}` };
  } catch (error) {
    return { ok: false, text: `${what} failed: ${(error as Error).message}` };
  }
}
