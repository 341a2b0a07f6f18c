/**
 * `CIRCUIT_STATE_FILE`: the breakers' state kept in a file across restarts of one server, as
 * `npm run dev` does when an edit to the library restarts `next dev`. At start each breaker is
 * restored from its saved snapshot (transition reason `restored`; the open time left is reduced by
 * the time the server was down); the file is written at every transition, every second while the
 * state changes, and at exit. A fleet shares state through Redis instead (fleet mode).
 */

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { BreakerSnapshot } from 'agent-circuit-breaker';
import type { AgentLoop } from './agent-loop';

/** What the file holds. */
interface Saved {
  savedAt: number;
  agents: Record<string, BreakerSnapshot>;
}

/** Restores the loop's breakers from `file` (if it exists), then keeps it up to date. */
export function keepStateIn(loop: AgentLoop, file: string, warn: (line: string) => void = console.warn): void {
  restore(loop, read(file, warn), warn);
  let last = '';
  const save = () => {
    const text = JSON.stringify(snapshot(loop));
    // The saved time changes every call: compare the agents only.
    const agents = text.slice(text.indexOf('"agents"'));
    if (agents === last) return;
    last = agents;
    try {
      writeFileSync(`${file}.tmp`, text);
      renameSync(`${file}.tmp`, file);
    } catch (error) {
      warn(`CIRCUIT_STATE_FILE: cannot write ${file}: ${(error as Error).message}`);
    }
  };
  loop.breakers.onTransition(save);
  setInterval(save, 1000).unref();
  process.once('exit', save);
}

/** Every breaker's snapshot, with the time they were taken. */
function snapshot(loop: AgentLoop): Saved {
  const agents = Object.fromEntries(loop.breakers.agents().map((agent) => [agent, loop.breakers.snapshot(agent)]));
  return { savedAt: Date.now(), agents };
}

/** The saved state, or undefined when there is none or it cannot be read (said once). */
function read(file: string, warn: (line: string) => void): Saved | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') warn(`CIRCUIT_STATE_FILE: cannot read ${file}: ${(error as Error).message}; starting CLOSED`);
    return undefined;
  }
  try {
    const saved = JSON.parse(text) as Saved;
    if (typeof saved?.savedAt === 'number' && saved.agents && typeof saved.agents === 'object') return saved;
  } catch {
    // reported below
  }
  warn(`CIRCUIT_STATE_FILE: ${file} is not a saved breaker state; starting CLOSED`);
  return undefined;
}

/** Puts each known agent's breaker in its saved state, less the time the server was down. */
function restore(loop: AgentLoop, saved: Saved | undefined, warn: (line: string) => void): void {
  if (!saved) return;
  const down = Math.max(0, Date.now() - saved.savedAt);
  for (const agent of loop.breakers.agents()) {
    const s = Object.hasOwn(saved.agents, agent) ? saved.agents[agent] : undefined;
    // A fresh breaker is already in that state: no `restored` transition for nothing.
    if (!s || (s.state === 'CLOSED' && s.consecutiveFailures === 0)) continue;
    try {
      loop.breakers.restore(agent, { ...s, openRemainingMs: Math.max(0, s.openRemainingMs - down) });
    } catch (error) {
      warn(`CIRCUIT_STATE_FILE: cannot restore ${agent}: ${(error as Error).message}`);
    }
  }
}
