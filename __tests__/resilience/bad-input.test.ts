/**
 * Nothing a JavaScript caller passes may abort the process: a fast-check property, in a child
 * process, calls every export, constructor and method with arbitrary values (wrong types, NaN,
 * ±Infinity, -0, 2^32, 1e300, huge strings, lone surrogates, NUL, throwing getters, Proxies), and
 * every call must return or throw an Error with a documented code. The child must exit normally.
 */

import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const script = path.join(__dirname, 'fixtures', 'fuzz-exports.js');

test.each([1, 2, 3])('hostile arguments never abort the process (fast-check seed %i)', (seed) => {
  const child = spawnSync(process.execPath, [script, String(seed), '3000'], { encoding: 'utf8', timeout: 120_000 });
  expect(child.signal).toBeNull();
  const report = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}');
  expect(report.problems).toEqual([]);
  expect(report.calls).toBe(3000);
  expect(child.status).toBe(0);
});

test('an async transition listener that rejects does not become an unhandled rejection', () => {
  const code = `
    const { CircuitBreaker } = require(${JSON.stringify(path.join(__dirname, '../../lib/resilience'))});
    const b = new CircuitBreaker({ onTransition: async () => { throw new Error('async listener bug'); } });
    b.forceOpen();
    setTimeout(() => console.log(b.state), 10);
  `;
  const child = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
  expect(child.status).toBe(0);
  expect(child.stdout.trim()).toBe('OPEN');
  expect(child.stderr).toContain('async listener bug');
});

test('a process whose breakers are all OPEN exits by itself: no timers or handles are left', () => {
  const code = `
    const { AgentCircuitBreaker, MARKETPLACE_AGENTS } = require(${JSON.stringify(path.join(__dirname, '../../lib/resilience'))});
    const registry = new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS });
    (async () => {
      for (const agent of registry.agents())
        for (let i = 0; i < 5; i++) await registry.execute(agent, async () => { throw new Error('down'); }).catch(() => {});
      console.log(registry.statusAll().map((s) => s.state).join(','));
    })();
  `;
  const child = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 20_000 });
  expect(child.signal).toBeNull(); // not killed by the timeout: it ended on its own
  expect(child.status).toBe(0);
  expect(child.stdout.trim()).toBe('OPEN,OPEN,OPEN,OPEN,OPEN');
});
