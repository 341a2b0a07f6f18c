/**
 * `CIRCUIT_STATE_FILE` (app/lib/ai/state-file.ts): what `npm run dev` relies on to carry the
 * breakers across a restart. A saved OPEN comes back OPEN with the open time left reduced by the
 * time the server was down; a file that cannot be used is said once and the breakers start CLOSED;
 * the file follows every transition.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keepStateIn } from '../../app/lib/ai/state-file';
import { setup } from './helpers/fake-agents';

const dir = mkdtempSync(join(tmpdir(), 'state-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = () => join(dir, `state-${++n}.json`);

/** Trips amazon through the loop: five failing calls. */
async function trip(env: ReturnType<typeof setup>): Promise<void> {
  env.agents.fail('amazon');
  for (let i = 0; i < 5; i++) await env.loop.callAgent('amazon', { sku: 'B0C1' });
}

/**
 * Trips amazon in a loop that keeps its state in a new file, then starts a second loop from that
 * file as if the server had been down `downMs`. Returns the state first saved and the second loop.
 */
async function restartAfter(downMs: number) {
  const path = file();
  const first = setup();
  keepStateIn(first.loop, path, () => undefined);
  await trip(first);
  const saved = JSON.parse(readFileSync(path, 'utf8'));
  writeFileSync(path, JSON.stringify({ ...saved, savedAt: Date.now() - downMs }));
  const second = setup();
  keepStateIn(second.loop, path, () => undefined);
  return { saved, second };
}

test('the file follows each transition, and a new loop restores it: OPEN, the time down taken off the open time', async () => {
  // The server was down 30 s.
  const { saved, second } = await restartAfter(30_000);
  expect(saved.agents.amazon).toMatchObject({ state: 'OPEN', openRemainingMs: 60_000, consecutiveFailures: 5 });
  const amazon = second.loop.getCircuitBreakerStatus('amazon');
  expect(amazon.state).toBe('OPEN');
  expect(amazon.recentTransitions.at(-1)?.reason).toBe('restored');
  expect(amazon.openRemainingMs).toBeGreaterThan(29_000);
  expect(amazon.openRemainingMs).toBeLessThanOrEqual(30_000);
  expect(amazon.consecutiveFailures).toBe(5);
  // The fresh agents had nothing to restore: no `restored` transition for them.
  expect(second.loop.getCircuitBreakerStatus('shopee').recentTransitions).toEqual([]);
});

test('down longer than the open time: restored OPEN with nothing left, so HALF_OPEN when looked at', async () => {
  const { second } = await restartAfter(120_000);
  expect(second.loop.getCircuitBreakerStatus('amazon').state).toBe('HALF_OPEN');
});

test.each([
  ['not JSON', '{oops', /is not a saved breaker state; starting CLOSED/],
  ['the wrong shape', '[1,2,3]', /is not a saved breaker state; starting CLOSED/],
  ['an unusable snapshot', JSON.stringify({ savedAt: Date.now(), agents: { amazon: { state: 'OPEN', openRemainingMs: 'soon' } } }), /cannot restore amazon/],
  ['a prototype key for an agent', JSON.stringify({ savedAt: Date.now(), agents: { ['__proto__']: { state: 'OPEN' }, constructor: { state: 'OPEN' } } }), null],
])('a file with %s is said once and the breakers start CLOSED', (_, text, warning) => {
  const path = file();
  writeFileSync(path, text);
  const warnings: string[] = [];
  const { loop } = setup();
  keepStateIn(loop, path, (line) => warnings.push(line));
  if (warning) {
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(warning);
  } else {
    expect(warnings).toEqual([]);
  }
  for (const s of loop.getAllCircuitBreakerStatus()) expect(s.state).toBe('CLOSED');
});

test('no file yet: nothing said, and one is written at the first transition', async () => {
  const path = file();
  const warnings: string[] = [];
  const env = setup();
  keepStateIn(env.loop, path, (line) => warnings.push(line));
  expect(warnings).toEqual([]);
  await trip(env);
  expect(JSON.parse(readFileSync(path, 'utf8')).agents.amazon.state).toBe('OPEN');
});
