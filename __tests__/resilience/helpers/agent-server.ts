/** A simulated marketplace agent: a real HTTP server on 127.0.0.1 whose behaviour a test switches. */

import * as http from 'node:http';
import * as net from 'node:net';

/** How the agent answers. */
export type AgentMode =
  | 'ok'
  | 'http500'
  | 'http503'
  | 'http429'
  | 'http400'
  | 'hang'
  | 'reset'
  | 'trickle'
  | 'truncated'
  | 'no-phases'
  | 'redirect'
  | 'huge'
  | 'slow';

/** A loopback agent server counting requests and open sockets. */
export class AgentServer {
  mode: AgentMode = 'ok';
  requests = 0;
  /** When each request arrived (Date.now()), for tests that count requests in a time window. */
  readonly arrivals: number[] = [];
  /** The analysis answered in 'ok' (and 'slow') mode. */
  analysis: Record<string, unknown> = { phases: ['listing', 'pricing'], score: 0.9 };
  /** How long 'slow' mode waits before answering the analysis, in ms. */
  slowMs = 150;
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(private readonly server: http.Server) {
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('request', (req, res) => {
      req.resume();
      req.on('end', () => this.answer(req, res));
    });
  }

  /** Starts a server on a free loopback port. */
  static async start(): Promise<AgentServer> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new AgentServer(server);
  }

  /** The agent's base URL. */
  get url(): string {
    const { port } = this.server.address() as net.AddressInfo;
    return `http://127.0.0.1:${port}/analyze`;
  }

  /** Sockets the server holds open now. */
  openSockets(): number {
    return this.sockets.size;
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.requests++;
    this.arrivals.push(Date.now());
    const json = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
      res.end(body);
    };
    switch (this.mode) {
      case 'ok':
        return json(200, JSON.stringify(this.analysis));
      case 'http500':
        return json(500, '{"error":"internal"}');
      case 'http503':
        return json(503, '{"error":"unavailable"}');
      case 'http429':
        return json(429, '{"error":"slow down"}');
      case 'http400':
        return json(400, '{"error":"bad input"}');
      case 'no-phases':
        return json(200, '{"result":"no phases here"}');
      case 'redirect':
        res.writeHead(302, { location: '/elsewhere', connection: 'close' });
        return void res.end();
      case 'huge': {
        res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
        const chunk = Buffer.alloc(1024 * 1024, 0x20);
        for (let i = 0; i < 9 && !res.destroyed; i++) res.write(chunk);
        return void res.end();
      }
      case 'slow':
        return this.later(() => json(200, JSON.stringify(this.analysis)), this.slowMs);
      case 'truncated':
        return json(200, '{"phases":["listing",');
      case 'reset':
        req.socket.destroy();
        return;
      case 'hang':
        return; // never answers
      case 'trickle': {
        res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
        const body = JSON.stringify(this.analysis);
        let i = 0;
        const drip = () => {
          if (res.destroyed || i >= body.length) {
            res.end();
            return;
          }
          res.write(body[i++]);
          this.later(drip, 100);
        };
        return drip();
      }
    }
  }

  /** Stops the server and every socket and timer it holds. */
  async close(): Promise<void> {
    this.timers.forEach(clearTimeout);
    this.sockets.forEach((s) => s.destroy());
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A loopback port with nothing listening on it. */
export async function refusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `ok` (sync or async) until it holds or `ms` pass; resolves to whether it held. */
export async function eventually(ok: () => boolean | Promise<boolean>, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

/**
 * Polls `read` until `ok` holds of its value or `ms` pass, every `every` ms; resolves to the last
 * value. A read that throws counts as not yet (undefined).
 */
export async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000, every = 100): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read().catch(() => undefined as T);
    if ((v !== undefined && ok(v)) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, every));
  }
}
