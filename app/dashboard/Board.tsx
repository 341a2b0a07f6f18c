'use client';

import { AgentCard } from './AgentCard';
import { FleetLinkPanel } from './FleetLinkPanel';
import { hhmmss } from './format';
import { HISTORY_LENGTH, type DiagnosticsView } from './use-diagnostics';
import { useNow } from './use-now';
import type { DiagnosticsDocument, Notice } from './types';

/** What the board shows: a document that was read, and how to act on it. */
export interface BoardProps {
  view: DiagnosticsView & { doc: DiagnosticsDocument };
  token: string | null;
  onNotice: (notice: Notice) => void;
}

/** The fleet link (fleet mode only), when the document was generated, and one card per agent. */
export function Board({ view, token, onNotice }: BoardProps) {
  const now = useNow();
  const { doc, receivedAt } = view;
  const serverNow = Date.parse(doc.generatedAt) + Math.max(0, now - receivedAt);
  return (
    <>
      <p className="updated">
        Updated <time dateTime={doc.generatedAt}>{hhmmss(doc.generatedAt)}</time>, every second.
        {view.error && <span className="bad"> Last read failed: {view.error}; showing the last good one.</span>}
      </p>
      {doc.fleet && <FleetLinkPanel link={doc.fleet} />}
      <div className="cards">
        {Object.entries(doc.agents).map(([agent, d]) => (
          <AgentCard
            key={agent}
            agent={agent}
            d={d}
            serverNow={serverNow}
            receivedAt={receivedAt}
            ratios={Object.hasOwn(view.history, agent) ? view.history[agent] : []}
            slots={HISTORY_LENGTH}
            fleetMode={doc.fleet !== null}
            token={token}
            onNotice={onNotice}
          />
        ))}
      </div>
    </>
  );
}
