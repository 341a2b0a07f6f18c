'use client';

import { useEffect, useState } from 'react';

/** This browser's clock (Date.now()), re-read every `periodMs`: for "for 12 s" durations between polls. */
export function useNow(periodMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), periodMs);
    return () => clearInterval(id);
  }, [periodMs]);
  return now;
}
