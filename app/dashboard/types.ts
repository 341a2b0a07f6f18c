/** The diagnostics document as the dashboard reads it: the route's own types, imported as types only. */

/** The document, one agent's part of it, the fleet link and a recent transition, as the route defines them. */
export type { AgentDiagnostics, DiagnosticsDocument, FleetLink, RecentTransition } from '../lib/http/diagnostics';

/** The operator actions the diagnostics route accepts, by path segment. */
export type OperatorAction = 'reset' | 'force-open';

/** A line for the live region: what an action did, or why it failed. */
export interface Notice {
  text: string;
  ok: boolean;
}
