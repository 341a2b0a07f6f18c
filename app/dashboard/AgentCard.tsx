'use client';

import { useId } from 'react';
import { ActionButtons } from './ActionButtons';
import { Countdown } from './Countdown';
import { duration, hhmmss } from './format';
import { Sparkline } from './Sparkline';
import { TransitionList } from './TransitionList';
import type { AgentDiagnostics, Notice } from './types';

/** What a card needs besides the agent's diagnostics. */
export interface AgentCardProps {
  agent: string;
  d: AgentDiagnostics;
  /** The server's clock now, in ms: the poll's `generatedAt` plus the time since it arrived. */
  serverNow: number;
  /** When the poll arrived, on this browser's clock. */
  receivedAt: number;
  ratios: number[];
  slots: number;
  /** True in fleet mode: the card then names the origin of the last remote transition. */
  fleetMode: boolean;
  token: string | null;
  onNotice: (notice: Notice) => void;
}

/** "Retry in": the countdown while OPEN with a timeout, "held until reset" while held open, else a dash. */
function RetryIn({ d, receivedAt }: { d: AgentDiagnostics; receivedAt: number }) {
  if (d.state !== 'OPEN') return <>—</>;
  if (d.recoveryTimeRemainingMs === null) return <>held until reset</>;
  return (
    <>
      <Countdown deadline={receivedAt + d.recoveryTimeRemainingMs} />
      {d.retryAt && <> (at <time dateTime={d.retryAt}>{hhmmss(d.retryAt)}</time>)</>}
    </>
  );
}

/** Recovery time (OPEN → CLOSED): the last, mean and longest, or "none yet". */
function Recovery({ r }: { r: AgentDiagnostics['metrics']['recoveryTimeMs'] }) {
  if (r.count === 0 || r.last === null) return <>none yet</>;
  return (
    <>
      last {duration(r.last)}
      {r.count > 1 && r.mean !== null && r.max !== null && <>; mean {duration(r.mean)}, max {duration(r.max)} over {r.count}</>}
    </>
  );
}

/** The origin of the last transition another instance caused here (fleet mode), or "none". */
function LastRemote({ fleet }: { fleet: AgentDiagnostics['fleet'] }) {
  const last = fleet?.lastRemote;
  if (!last) return <>none</>;
  return (
    <>
      {last.to} from <code>{last.origin}</code> at <time dateTime={last.at}>{hhmmss(last.at)}</time>
    </>
  );
}

/** One agent's card: its state in words and colour, its figures, recent transitions and actions. */
export function AgentCard({ agent, d, serverNow, receivedAt, ratios, slots, fleetMode, token, onNotice }: AgentCardProps) {
  const headingId = useId();
  const fallbacks = d.metrics.fallbacksServed;
  return (
    <article className="card" data-agent={agent} data-state={d.state} aria-labelledby={headingId}>
      <header className="card-head">
        <h2 id={headingId}>{agent}</h2>
        <p className="state">{d.state}</p>
      </header>
      <p className="recommendation">{d.recommendation}</p>
      <dl className="figures">
        <div>
          <dt>Since</dt>
          <dd>
            <time dateTime={d.since}>{hhmmss(d.since)}</time> (for {duration(Math.max(0, serverNow - Date.parse(d.since)))})
          </dd>
        </div>
        <div>
          <dt>Retry in</dt>
          <dd>
            <RetryIn d={d} receivedAt={receivedAt} />
          </dd>
        </div>
        <div>
          <dt>Consecutive failures</dt>
          <dd>
            {d.consecutiveFailures} / {d.failureThreshold}
          </dd>
        </div>
        <div>
          <dt>Error rate</dt>
          <dd>
            <Sparkline ratios={ratios} slots={slots} windowMs={d.metrics.errorRate.windowMs} />
          </dd>
        </div>
        <div>
          <dt>Fallbacks served</dt>
          <dd>
            {fallbacks.cached + fallbacks.empty} ({fallbacks.cached} cached, {fallbacks.empty} empty)
          </dd>
        </div>
        <div>
          <dt>Recovery time</dt>
          <dd>
            <Recovery r={d.metrics.recoveryTimeMs} />
          </dd>
        </div>
        {fleetMode && (
          <div>
            <dt>Last remote transition</dt>
            <dd>
              <LastRemote fleet={d.fleet} />
            </dd>
          </div>
        )}
      </dl>
      <h3>Recent transitions</h3>
      <TransitionList transitions={d.recentTransitions} />
      <ActionButtons agent={agent} token={token} fleetMode={fleetMode} onNotice={onNotice} />
    </article>
  );
}
