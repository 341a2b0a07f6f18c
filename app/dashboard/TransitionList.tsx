import { hhmmss } from './format';
import type { RecentTransition } from './types';

/** How many recent transitions a card lists. */
const SHOWN = 5;

/** An agent's recent transitions, newest first, each with its reason and wall-clock time. */
export function TransitionList({ transitions }: { transitions: RecentTransition[] }) {
  if (transitions.length === 0) return <p className="muted">No transitions yet.</p>;
  return (
    <ol className="transitions">
      {transitions
        .slice(-SHOWN)
        .reverse()
        .map((t, i) => (
          <li key={`${i}-${t.at}`}>
            <time dateTime={t.at}>{hhmmss(t.at)}</time> {t.from} → {t.to}{' '}
            <span className="reason">(<code>{t.reason}</code>)</span>
          </li>
        ))}
    </ol>
  );
}
