/** A real redis-server on a free loopback port, started and stopped by the tests. */

import { spawnSync, type ChildProcess } from 'node:child_process';
import { refusedPort } from './agent-server';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startRedisServer } = require('../../../scripts/redis-server') as { startRedisServer(port: number, extraArgs?: string[]): Promise<ChildProcess> };

/** True when `redis-server` is on PATH. */
export function haveRedis(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0;
}

/** One redis-server process; `stop` and `start` again reuse the port. */
export class RedisServer {
  private proc?: ChildProcess;

  private constructor(readonly port: number) {}

  /** Starts redis-server on a free port (no persistence, DEBUG allowed from loopback). */
  static async start(): Promise<RedisServer> {
    if (!haveRedis()) {
      throw new Error('redis-server is not installed: run `apt-get install redis-server` (the CI script does)');
    }
    const server = new RedisServer(await refusedPort());
    await server.restart();
    return server;
  }

  /** The URL clients connect to. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the process (again) and waits until it accepts connections. */
  async restart(): Promise<void> {
    this.proc = await startRedisServer(this.port, ['--enable-debug-command', 'local']);
  }

  /** Sends `signal` to the process (SIGSTOP freezes it with its sockets open; SIGCONT thaws it). */
  signal(signal: NodeJS.Signals): void {
    this.proc?.kill(signal);
  }

  /** Kills the process and waits for it to go. */
  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
    this.proc = undefined;
  }
}
