'use client';

import { useState, type FormEvent } from 'react';

/** What the gate says under the field. */
export interface TokenGateProps {
  /** The last token tried was refused (401). */
  wrong: boolean;
  /** A token is being checked (the first read with it has not answered yet). */
  checking: boolean;
  /** The last read failed for another reason (the server unreachable), or null. */
  error: string | null;
  onToken: (token: string) => void;
}

/**
 * Asks for the diagnostics token before anything is shown. The field has no `name` and the form is
 * handled in the page, so the token never lands in a URL, even if it is submitted before hydration.
 */
export function TokenGate({ wrong, checking, error, onToken }: TokenGateProps) {
  const [value, setValue] = useState('');
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const token = value.trim();
    if (token) onToken(token);
  };
  return (
    <section className="gate" aria-labelledby="gate-heading">
      <h2 id="gate-heading">Token required</h2>
      <p>This server sets DIAGNOSTICS_TOKEN: enter it to see the breakers and act on them. It is kept in this tab only.</p>
      <form onSubmit={submit}>
        <label htmlFor="diagnostics-token">Diagnostics token</label>
        <input
          id="diagnostics-token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          aria-invalid={wrong}
          aria-describedby="gate-status"
          required
        />
        <button type="submit">Show the breakers</button>
      </form>
      <p id="gate-status" role="status" aria-live="polite" className={wrong || error ? 'bad' : undefined}>
        {wrong ? 'wrong token' : (error ?? (checking ? 'checking the token…' : ''))}
      </p>
    </section>
  );
}
