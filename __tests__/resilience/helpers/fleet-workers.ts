/** App instances in fleet mode as forked Node processes (fixtures/fleet-worker.js), driven over IPC. */

import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { BreakerConfig, TransitionEvent } from '../../../lib/resilience';
import { eventually } from './agent-server';

/** What a worker is started with. */
export interface WorkerOptions {
  redisUrl: string;
  subscriberUrl?: string;
  agentUrl: string;
  prefix: string;
  instanceId: string;
  syncIntervalMs?: number;
  leaseTtlMs?: number;
  /** Fleet sync's command timeout; tests that need the link up under load raise it. */
  commandTimeoutMs?: number;
  callTimeoutMs?: number;
  defaults?: BreakerConfig;
}

/** A transition a worker reported, with the wall time it happened at. */
export interface Seen {
  event: TransitionEvent;
  at: number;
}

/** One forked app instance. */
export class FleetWorker {
  readonly seen: Seen[] = [];
  private readonly waiting = new Map<number, (reply: Record<string, unknown>) => void>();
  private next = 0;

  private constructor(
    readonly id: string,
    readonly proc: ChildProcess,
  ) {
    proc.on('message', (msg: Record<string, unknown>) => {
      if (msg.type === 'transition') this.seen.push({ event: msg.event as TransitionEvent, at: msg.at as number });
      const resolve = this.waiting.get(msg.id as number);
      if (resolve) {
        this.waiting.delete(msg.id as number);
        resolve(msg);
      }
    });
  }

  /** Forks a worker and waits until its first sync has ended. */
  static async start(options: WorkerOptions): Promise<FleetWorker> {
    const proc = fork(path.join(__dirname, '../fixtures/fleet-worker.js'), [], {
      env: { ...process.env, FLEET_WORKER: JSON.stringify(options) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const worker = new FleetWorker(options.instanceId, proc);
    await new Promise<void>((resolve, reject) => {
      proc.on('message', (msg: { type?: string }) => msg.type === 'ready' && resolve());
      proc.once('exit', (code) => reject(new Error(`worker ${options.instanceId} exited with ${code}`)));
    });
    return worker;
  }

  /** Sends a command and waits for its reply. */
  ask(cmd: string, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = ++this.next;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.proc.send({ cmd, id, ...extra });
    });
  }

  async state(): Promise<string> {
    return (await this.ask('state')).state as string;
  }

  /** The first transition seen after index `from` that `ok` accepts, waiting up to `ms`. */
  async transition(from: number, ok: (e: TransitionEvent) => boolean, ms = 5000): Promise<Seen | undefined> {
    const find = () => this.seen.slice(from).find((s) => ok(s.event));
    await eventually(() => find() !== undefined, ms);
    return find();
  }

  /** Stops the worker (closing its fleet link first unless it is already gone). */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.proc.kill('SIGKILL');
    await exited;
  }
}

/** The p-th percentile (0..100) of `values`. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
