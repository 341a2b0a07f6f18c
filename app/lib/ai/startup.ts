/**
 * Run once at server start (Node.js runtime only): creates the process's agent loop, or stops the
 * process with the configuration error, which names the variable. In fleet mode it waits for the
 * first sync with Redis (bounded), so a fresh instance starts from the fleet's state, not CLOSED.
 */

import { metricsRegistry } from '../http/metrics-registry';
import { getAgentLoop } from './agent-loop';
import { keepStateIn } from './state-file';

/** Creates the agent loop and its metrics, and waits for fleet mode's first sync. */
export async function start(): Promise<void> {
  let loop;
  try {
    loop = getAgentLoop();
  } catch (error) {
    console.error(`agent loop configuration error: ${(error as Error).message}`);
    process.exit(1);
  }
  const stateFile = process.env.CIRCUIT_STATE_FILE?.trim();
  if (stateFile) keepStateIn(loop, stateFile);
  // The metrics exist from the start: the call-duration histogram counts calls from the first one.
  metricsRegistry();
  await loop.fleet?.ready();
}
