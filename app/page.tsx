/**
 * `/`: the operators' dashboard, one card per agent breaker, live from the diagnostics route.
 * Rendered per request: whether the token gate shows is decided here from DIAGNOSTICS_TOKEN, and
 * no agent data is ever rendered on the server (the client reads it, with the token when one is set).
 */

import { Dashboard } from './dashboard/Dashboard';

/** Rendered on each request: the gate follows DIAGNOSTICS_TOKEN as it is when the page is asked for. */
export const dynamic = 'force-dynamic';

/** The page: its heading, and the client dashboard told whether to ask for the token. */
export default function Page() {
  const gated = Boolean(process.env.DIAGNOSTICS_TOKEN);
  return (
    <main>
      <h1>Agent circuit breakers</h1>
      <p className="lede">
        One breaker per marketplace agent. CLOSED: calls go through. OPEN: calls get fallbacks until the retry time. HALF_OPEN: a few probes
        decide.
      </p>
      <noscript>
        <p>This dashboard needs JavaScript. The same figures are at /api/marketplace/diagnostics.</p>
      </noscript>
      <Dashboard gated={gated} />
    </main>
  );
}
