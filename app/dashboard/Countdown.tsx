'use client';

import { useEffect, useState } from 'react';

/**
 * Seconds left before an OPEN breaker lets a probe through, ticking down each second on this
 * browser's clock between polls. `deadline` is that moment on the browser's clock (the poll's
 * arrival plus the `recoveryTimeRemainingMs` it carried), so a skew between the two clocks does not matter.
 */
export function Countdown({ deadline }: { deadline: number }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = () => {
      const t = Date.now();
      setNow(t);
      const left = deadline - t;
      // Wake when the displayed second changes.
      if (left > 0) timer = setTimeout(tick, left % 1000 || 1000);
    };
    tick();
    return () => clearTimeout(timer);
  }, [deadline]);
  const seconds = Math.max(0, Math.ceil((deadline - now) / 1000));
  return (
    <span className="countdown" data-countdown={seconds}>
      {seconds} s
    </span>
  );
}
