'use client';

import { useCallback, useState } from 'react';
import { Board } from './Board';
import { TokenGate } from './TokenGate';
import type { Notice } from './types';
import { useDiagnostics } from './use-diagnostics';
import { saveToken, useToken } from './use-token';

/**
 * The dashboard's client side. `gated` (the server has DIAGNOSTICS_TOKEN) means: ask for the token
 * first and show nothing until a read with it succeeds; a 401 forgets it and says "wrong token".
 * Without it the board is open, and operator actions are refused by the server (403), which the
 * live region says.
 */
export function Dashboard({ gated }: { gated: boolean }) {
  const token = useToken();
  const [wrong, setWrong] = useState(false);
  const [notice, setNotice] = useState<Notice | null>(null);
  const onUnauthorized = useCallback(() => {
    setWrong(true);
    saveToken(null);
  }, []);
  const view = useDiagnostics(gated ? token : null, !gated || token !== null, onUnauthorized);
  const onToken = (t: string) => {
    setWrong(false);
    saveToken(t);
  };
  const onNotice = (n: Notice) => {
    setNotice(n);
    view.refresh();
  };
  const forget = () => {
    setNotice(null);
    saveToken(null);
  };
  const { doc } = view;

  if (doc === null) {
    if (gated) return <TokenGate wrong={wrong} checking={token !== null} error={view.error} onToken={onToken} />;
    return (
      <p role="status" className={view.error ? 'bad' : 'muted'}>
        {view.error ?? 'Reading the diagnostics…'}
      </p>
    );
  }
  return (
    <>
      {gated && (
        <p className="session">
          Token kept in this tab.{' '}
          <button type="button" onClick={forget}>
            Forget the token
          </button>
        </p>
      )}
      <p role="status" aria-live="polite" className={notice && !notice.ok ? 'notice bad' : 'notice'}>
        {notice?.text}
      </p>
      <Board view={{ ...view, doc }} token={token} onNotice={onNotice} />
    </>
  );
}
