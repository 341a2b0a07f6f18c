/**
 * What `agent-circuit-breaker` resolves to in runtimes without Node-API (the `edge-light`, `worker`
 * and `browser` conditions of the exports map): importing it throws one error naming the fix.
 */

import { CircuitBreakerError } from './errors';

throw new CircuitBreakerError(
  'ERR_UNSUPPORTED_RUNTIME',
  'agent-circuit-breaker is a native Node-API addon and runs only in the Node.js runtime, not in edge, worker or browser runtimes. ' +
    "In Next.js, run the route in Node.js (export const runtime = 'nodejs') and list the package in serverExternalPackages.",
);
