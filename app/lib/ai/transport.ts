/**
 * How the agent loop reaches an agent: `POST <url>` with the request as JSON. The default is Node's
 * own HTTP client (node:http / node:https); tests may inject their own function. A transport resolves
 * to the HTTP status and body, or rejects when no answer came (network error, abort).
 *
 * Why not fetch: Node 20's fetch (undici), when a request is aborted, destroys its socket but then
 * opens a second, unused connection to the agent that stays open (seen here: two connections, one
 * left open 2 s after the abort; undici issue #5845 describes the mechanism). A timed-out call must
 * leave no socket behind, and node:http's `signal` destroys the request and its socket at once.
 */

import * as http from 'node:http';
import * as https from 'node:https';

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

/** Answers larger than this are refused as invalid (an analysis is small). */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/** The agent's answer went past `MAX_RESPONSE_BYTES`: the request was stopped; the agent is at fault. */
export class ResponseTooLargeError extends Error {
  readonly code = 'ERR_RESPONSE_TOO_LARGE';
  constructor(readonly limit: number) {
    super(`response larger than ${limit} bytes`);
    this.name = 'ResponseTooLargeError';
  }
}

/** The real HTTP client: node:http(s), reading the whole body under the same signal. */
export const httpTransport: Transport = ({ url, body, signal }) =>
  new Promise<AgentResponse>((resolve, reject) => {
    const client = url.startsWith('https:') ? https : http;
    const req = client.request(
      url,
      {
        method: 'POST',
        signal,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            const tooLarge = new ResponseTooLargeError(MAX_RESPONSE_BYTES);
            reject(tooLarge); // first, so that no 'aborted' or socket error settles the call instead
            req.destroy(tooLarge);
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('response aborted')));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
