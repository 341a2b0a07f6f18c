/**
 * worker_threads: four workers each load the addon and run their own registry (there is no shared,
 * process-wide registry: every instance owns its breakers). Counts are exact in every worker, the
 * workers do not see each other's breakers, and workers and the process exit cleanly.
 */

import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const script = path.join(__dirname, 'fixtures', 'workers.js');

test('four workers run their own registries with exact counts and exit cleanly', () => {
  const child = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 60_000 });
  expect(child.stderr).toBe('');
  expect(child.signal).toBeNull();
  expect(child.status).toBe(0);
  const results = JSON.parse(child.stdout.trim());
  expect(results).toHaveLength(4);
  for (const r of results) {
    const failures = Math.ceil(r.calls / 100);
    expect(r).toMatchObject({ admitted: r.calls, failures, successes: r.calls - failures });
    expect(r.shopee).toBe(r.w === 0 ? 'OPEN' : 'CLOSED');
  }
});
