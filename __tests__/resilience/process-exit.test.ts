/**
 * A process whose agent breakers are all OPEN exits by itself: no timer, socket or native handle
 * keeps it alive (opossum #378's bug), and it ends promptly once its work is done.
 */

import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

test('a script that trips every agent breaker exits by itself within 1 s', () => {
  const fixtures = path.join(__dirname, 'fixtures');
  const child = spawnSync(
    process.execPath,
    ['-r', path.join(__dirname, '../../scripts/ts-register.js'), path.join(fixtures, 'trip-all-and-exit.ts')],
    { encoding: 'utf8', timeout: 30_000 },
  );
  expect(child.stderr).toBe('');
  expect(child.signal).toBeNull(); // it was not killed: it exited on its own
  expect(child.status).toBe(0);
  const [states, exit] = child.stdout.trim().split('\n');
  expect(states).toBe('OPEN,OPEN,OPEN,OPEN,OPEN');
  const ms = Number(/exit after (\d+) ms/.exec(exit)?.[1]);
  expect(ms).toBeLessThan(1000);
});
