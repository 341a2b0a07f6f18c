/**
 * How the agent loop reaches an agent: `POST <url>` with the request as JSON. The default is Node's
 * fetch (undici); tests may inject their own function. A transport resolves to the HTTP status and
 * body, or rejects when no answer came (network error, abort).
 */

/** One request to an agent. */
export interface AgentRequest {
  agentId: string;
  url: string;
  /** The request, already serialized as JSON. */
  body: string;
  /** Aborted on the per-call timeout or by the caller; the request must stop and free its socket. */
  signal: AbortSignal;
}

/** What the agent answered. */
export interface AgentResponse {
  status: number;
  body: string;
}

/** Sends one request. */
export type Transport = (request: AgentRequest) => Promise<AgentResponse>;

/** The real HTTP client: fetch, reading the whole body under the same signal. */
export const fetchTransport: Transport = async ({ url, body, signal }) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body,
    signal,
  });
  return { status: res.status, body: await res.text() };
};
