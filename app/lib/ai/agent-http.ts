/**
 * One HTTP request to an agent and the judging of its answer: the request is bounded by the call's
 * timeout and the caller's signal, and an answer is an analysis only if it is a 2xx JSON object with
 * a `phases` array. Every other outcome is an `AgentCallError` saying whether it counts.
 */

import { AgentAbortError, AgentCallError, AgentRequestError, unreachable } from './agent-errors';
import type { CheckedCall } from './agent-input';
import type { Analysis } from './fallback-cache';
import type { AgentResponse, Transport } from './transport';

/** Only a 4xx other than 429 is the caller's mistake; 3xx, 429, 5xx and anything else count. */
export const defaultCounts = (status: number) => status < 400 || status >= 500 || status === 429;

/** Most characters of a refused request's body written to the log. */
const LOGGED_BODY_CHARS = 200;

/** What to send: the agent, its URL (read when sending; it may throw) and the serialized input. */
export interface Outgoing {
  agentId: string;
  url: () => string;
  body: string;
}

/** A request's abort controller, aborted by the timeout or the caller; `release` stops listening to both. */
interface Bounds {
  signal: AbortSignal;
  /** Rejects with the abort's reason once the signal aborts. */
  aborted: Promise<never>;
  release(): void;
}

/** The bounds of one request: the timeout aborts with a counted `timeout`, the caller with `callerAbort()`. */
function bound(agentId: string, timeoutMs: number, caller: AbortSignal | undefined, callerAbort: () => AgentCallError): Bounds {
  const controller = new AbortController();
  const abort = (reason: unknown) => controller.abort(reason);
  const timer = setTimeout(() => {
    abort(new AgentCallError(`agent "${agentId}" did not answer within ${timeoutMs} ms`, 'timeout', true));
  }, timeoutMs);
  const onCallerAbort = () => abort(callerAbort());
  caller?.addEventListener('abort', onCallerAbort, { once: true });
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
  });
  aborted.catch(() => undefined);
  const release = () => {
    clearTimeout(timer);
    caller?.removeEventListener('abort', onCallerAbort);
  };
  return { signal: controller.signal, aborted, release };
}

/** Sends one request, bounded by the timeout and the caller's signal; rejects with an `AgentCallError`. */
export async function send(transport: Transport, { agentId, url, body }: Outgoing, { timeoutMs, signal: caller }: CheckedCall): Promise<AgentResponse> {
  const callerAbort = () => new AgentCallError('aborted by the caller', 'network', false, new AgentAbortError(agentId, caller?.reason));
  if (caller?.aborted) throw callerAbort();
  const bounds = bound(agentId, timeoutMs, caller, callerAbort);
  try {
    const request = transport({ agentId, url: url(), body, signal: bounds.signal });
    return await Promise.race([request, bounds.aborted]);
  } catch (error) {
    if (bounds.signal.aborted) throw bounds.signal.reason;
    throw unreachable(agentId, error);
  } finally {
    bounds.release();
  }
}

/** The agent's answer parsed afresh, if it is an analysis (a JSON object with a `phases` array). */
export function parseAnalysis(body: string): Analysis | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || !Array.isArray((parsed as Analysis).phases)) return undefined;
  return parsed as Analysis;
}

/** The failure a status other than 2xx is; a refused request (one that does not count) goes to `refused` for the log. */
function statusFailure(
  agentId: string,
  { status, body }: AgentResponse,
  counts: (status: number) => boolean,
  refused: (line: Record<string, unknown>) => void,
): AgentCallError {
  if (!counts(status)) {
    refused({ msg: 'agent_request_refused', agent: agentId, status, body: body.slice(0, LOGGED_BODY_CHARS) });
    return new AgentCallError(`HTTP ${status}`, 'invalid_response', false, new AgentRequestError(agentId, status));
  }
  const reason = status === 429 ? 'rate_limited' : status >= 500 ? 'http_5xx' : 'invalid_response';
  return new AgentCallError(`agent "${agentId}" answered HTTP ${status}`, reason, true);
}

/** Turns an HTTP answer into an analysis, or throws the failure it is (see `statusFailure`). */
export function judge(
  agentId: string,
  response: AgentResponse,
  counts: (status: number) => boolean,
  refused: (line: Record<string, unknown>) => void,
): Analysis {
  if (response.status < 200 || response.status > 299) throw statusFailure(agentId, response, counts, refused);
  const analysis = parseAnalysis(response.body);
  if (!analysis) throw new AgentCallError(`agent "${agentId}" answered without a JSON object with a phases array`, 'invalid_response', true);
  return analysis;
}
