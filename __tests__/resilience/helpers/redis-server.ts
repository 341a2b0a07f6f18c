/** A real redis-server on a free loopback port, started and stopped by the tests. */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { refusedPort } from './agent-server';

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
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    const proc = spawn('redis-server', [...args, '--enable-debug-command', 'local'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) resolve();
      });
      proc.on('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
    });
    proc.stdout!.resume();
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
