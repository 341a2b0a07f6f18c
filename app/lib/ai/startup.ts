/**
 * Imported once at server start (Node.js runtime only): creates the process's agent loop, or stops
 * the process with the configuration error, which names the variable.
 */

import { getAgentLoop } from './agent-loop';

try {
  getAgentLoop();
} catch (error) {
  console.error(`agent loop configuration error: ${(error as Error).message}`);
  process.exit(1);
}
