/**
 * Waiting on a promise for at most a given time, with a timer that never keeps the process alive:
 * the agent loop's wait on the fallback cache and the Redis tier's wait on a command both use it.
 */

/** A timer that resolves to `undefined` after `ms`, unref'd; `cancel` clears it. */
function deadline(ms: number): { promise: Promise<undefined>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
    timer.unref();
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * `promise`'s value if it settles within `ms`, else `undefined` (a rejection also reads as
 * `undefined`). The timer is unref'd and cleared as soon as either side settles.
 */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  const timer = deadline(ms);
  return Promise.race([promise.catch(() => undefined), timer.promise]).finally(timer.cancel);
}
