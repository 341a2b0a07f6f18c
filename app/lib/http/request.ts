/**
 * Reading and checking the analyze request: JSON, at most 64 KiB, `{ input: object, agents?: string[] }`.
 * Every problem is a 4xx with a message that says what is wrong.
 */

import { json } from './response';

/** The largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 64 * 1024;

/** The deepest nesting of objects and arrays accepted in `input`. */
export const MAX_INPUT_DEPTH = 32;

/** How deep `value` nests, counted without recursion (a hostile body cannot overflow the stack). */
function depth(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    deepest = Math.max(deepest, d);
    if (deepest > MAX_INPUT_DEPTH) return deepest;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return deepest;
}

/** A checked analyze request. */
export interface AnalyzeRequest {
  input: Record<string, unknown>;
  agents?: string[];
}

async function readLimited(request: Request): Promise<string | Response> {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > MAX_BODY_BYTES) return json({ error: `request body over ${MAX_BODY_BYTES} bytes` }, 400);
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      return json({ error: `request body over ${MAX_BODY_BYTES} bytes` }, 400);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The checked request, or the 4xx response to send. */
export async function readAnalyzeRequest(request: Request, knownAgents: readonly string[]): Promise<AnalyzeRequest | Response> {
  const type = request.headers.get('content-type') ?? '';
  if (!/^application\/json\b/i.test(type.trim())) {
    return json({ error: `content-type must be application/json (got ${JSON.stringify(type)})` }, 415);
  }
  const text = await readLimited(request);
  if (typeof text !== 'string') return text;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    return json({ error: `request body is not JSON: ${(e as Error).message}` }, 400);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return json({ error: 'request body must be a JSON object: { "input": {...}, "agents"?: [...] }' }, 400);
  }
  const { input, agents, ...rest } = body as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) return json({ error: `unknown field ${JSON.stringify(extra[0])}: allowed are "input" and "agents"` }, 400);
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return json({ error: '"input" must be a JSON object' }, 400);
  }
  if (depth(input) > MAX_INPUT_DEPTH) {
    return json({ error: `"input" nests deeper than ${MAX_INPUT_DEPTH} levels` }, 400);
  }
  if (agents === undefined) return { input: input as Record<string, unknown> };
  if (!Array.isArray(agents) || agents.length === 0 || agents.some((a) => typeof a !== 'string')) {
    return json({ error: '"agents" must be a non-empty array of agent ids' }, 400);
  }
  const unknown = agents.find((a) => !knownAgents.includes(a as string));
  if (unknown !== undefined) {
    return json({ error: `unknown agent ${JSON.stringify(unknown)}: known agents are ${knownAgents.join(', ')}` }, 400);
  }
  if (new Set(agents).size !== agents.length) return json({ error: '"agents" lists an agent twice' }, 400);
  return { input: input as Record<string, unknown>, agents: agents as string[] };
}
