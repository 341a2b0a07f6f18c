'use client';

/**
 * Polls the diagnostics route once a second. The route computes each breaker's state when it is
 * read, so polling is what makes an OPEN breaker show HALF_OPEN once its timeout passes, even when
 * no traffic reaches it. Keeps a short history of each agent's error-rate ratio for the sparklines.
 */

import { useCallback, useEffect, useRef, useState } from 'react';
import { readDiagnostics } from './api';
import type { DiagnosticsDocument } from './types';

/** How often the dashboard reads the diagnostics, in ms. */
export const POLL_MS = 1000;
/** How many error-rate readings each sparkline keeps. */
export const HISTORY_LENGTH = 60;

/** What the dashboard knows from the last reads. */
export interface DiagnosticsView {
  /** The last document read with the current token, or null. */
  doc: DiagnosticsDocument | null;
  /** When it arrived, on this browser's clock (Date.now()). */
  receivedAt: number;
  /** Per agent, the last error-rate ratios read, oldest first. */
  history: Record<string, number[]>;
  /** Why the last read failed (not for a wrong token), or null. */
  error: string | null;
  /** Reads again now (after an operator action). */
  refresh: () => void;
}

interface Snapshot {
  token: string | null;
  doc: DiagnosticsDocument | null;
  receivedAt: number;
  history: Record<string, number[]>;
  error: string | null;
}

const EMPTY: Snapshot = { token: null, doc: null, receivedAt: 0, history: {}, error: null };

/** Appends each agent's current error-rate ratio to its history, keeping the last HISTORY_LENGTH. */
function extend(history: Record<string, number[]>, doc: DiagnosticsDocument): Record<string, number[]> {
  return Object.fromEntries(
    Object.entries(doc.agents).map(([agent, d]) => [agent, [...(Object.hasOwn(history, agent) ? history[agent] : []), d.metrics.errorRate.ratio].slice(-HISTORY_LENGTH)]),
  );
}

/**
 * Reads the diagnostics every POLL_MS while `enabled`, with `token` as the bearer token. A 401 stops
 * polling, forgets what was read and calls `onUnauthorized`.
 */
export function useDiagnostics(token: string | null, enabled: boolean, onUnauthorized: () => void): DiagnosticsView {
  const [snap, setSnap] = useState<Snapshot>(EMPTY);
  const [round, setRound] = useState(0);
  const unauthorized = useRef(onUnauthorized);
  useEffect(() => {
    unauthorized.current = onUnauthorized;
  });

  useEffect(() => {
    if (!enabled) return undefined;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      const started = Date.now();
      const read = await readDiagnostics(token, controller.signal);
      if (controller.signal.aborted) return;
      if (read.kind === 'unauthorized') {
        setSnap(EMPTY);
        unauthorized.current();
        return;
      }
      const receivedAt = Date.now();
      setSnap((s) => {
        const mine = s.token === token ? s : { ...EMPTY, token };
        if (read.kind === 'error') return { ...mine, error: read.message };
        return { token, doc: read.doc, receivedAt, history: extend(mine.history, read.doc), error: null };
      });
      timer = setTimeout(poll, Math.max(0, POLL_MS - (Date.now() - started)));
    };
    void poll();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [token, enabled, round]);

  const refresh = useCallback(() => setRound((r) => r + 1), []);
  // What was read with another token (or before polling stopped) is not shown.
  const current = enabled && snap.token === token ? snap : EMPTY;
  return { doc: current.doc, receivedAt: current.receivedAt, history: current.history, error: current.error, refresh };
}
