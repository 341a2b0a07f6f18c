'use client';

import { useState } from 'react';
import { ACTION_NAMES, runAction } from './api';
import type { Notice, OperatorAction } from './types';

/** What each action does, as the confirmation asks it. */
const QUESTIONS: Record<OperatorAction, (agent: string, fleetMode: boolean) => string> = {
  reset: (agent, fleetMode) => `Reset ${agent}? Its breaker closes now${fleetMode ? ' on every instance' : ''} and calls reach the agent again.`,
  'force-open': (agent, fleetMode) =>
    `Hold ${agent} open? Every call gets its fallback until someone resets it.${fleetMode ? ' In fleet mode the hold is on this instance only.' : ''}`,
};

/** The agent acted on, the operator's token, whether fleet mode is on, and where to report. */
export interface ActionButtonsProps {
  agent: string;
  token: string | null;
  fleetMode: boolean;
  onNotice: (notice: Notice) => void;
}

/**
 * The card's operator actions: Reset and Hold open. Each asks for confirmation, then POSTs with the
 * operator's token and reports the outcome through `onNotice` (the page's live region).
 */
export function ActionButtons({ agent, token, fleetMode, onNotice }: ActionButtonsProps) {
  const [busy, setBusy] = useState(false);
  const act = async (action: OperatorAction) => {
    if (!window.confirm(QUESTIONS[action](agent, fleetMode))) return;
    setBusy(true);
    onNotice(await runAction(agent, action, token));
    setBusy(false);
  };
  return (
    <div className="actions">
      {(Object.keys(ACTION_NAMES) as OperatorAction[]).map((action) => (
        <button key={action} type="button" disabled={busy} onClick={() => void act(action)}>
          {ACTION_NAMES[action]}
          <span className="visually-hidden"> {agent}</span>
        </button>
      ))}
    </div>
  );
}
