#!/usr/bin/env node
// Five simulated marketplace agents: real HTTP servers on 127.0.0.1, each switchable between
//   ok     200 with an analysis        fail   500
//   hang   never answers               slow   answers after SLOW_MS (default 2000)
//   flaky  fails every other request
// plus a control server: POST /agents/<agent>/<mode> switches one; GET /agents lists modes and counts.
// Used by `npm start` (the main job), `npm run chaos` and the e2e test.
// Run alone: node scripts/agent-sim.js [--base-port 4101] [--control-port 4100]
// The agents are the package's MARKETPLACE_AGENTS, so this needs the built package (`npm run build`).
'use strict';
const http = require('node:http');
const { MARKETPLACE_AGENTS } = require('../lib/resilience');

const AGENTS = MARKETPLACE_AGENTS;
const MODES = ['ok', 'fail', 'hang', 'slow', 'flaky'];

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server.address().port));
  });
}

/**
 * Starts the agents and the control server. Port 0 picks free ports.
 * @returns {Promise<{urls: Record<string,string>, control: string, setMode(agent: string, mode: string): void, requests(agent: string): number, close(): Promise<void>}>}
 */
async function startAgents({ host = '127.0.0.1', basePort = 0, controlPort = 0, slowMs = Number(process.env.SLOW_MS ?? 2000) } = {}) {
  const state = Object.fromEntries(AGENTS.map((a) => [a, { mode: 'ok', requests: 0 }]));
  const servers = [];
  const sockets = new Set();
  const track = (server) => {
    servers.push(server);
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
  };
  const urls = {};
  for (const [i, agent] of AGENTS.entries()) {
    const server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const s = state[agent];
        s.requests++;
        let input = null;
        try {
          input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          /* answered anyway */
        }
        const analysis = () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ agent, phases: [`${agent}: demand`, `${agent}: pricing`, `${agent}: listing`], input, at: new Date().toISOString() }));
        };
        const fail = () => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: `${agent} agent failed` }));
        };
        switch (s.mode) {
          case 'ok': return analysis();
          case 'fail': return fail();
          case 'hang': return undefined;
          case 'slow': return void setTimeout(analysis, slowMs).unref();
          case 'flaky': return s.requests % 2 ? fail() : analysis();
        }
      });
    });
    track(server);
    const port = await listen(server, basePort ? basePort + i : 0, host);
    urls[agent] = `http://${host}:${port}/analyze`;
  }
  const control = http.createServer((req, res) => {
    const reply = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const m = /^\/agents\/([^/]+)\/([^/]+)$/.exec(req.url ?? '');
    if (req.method === 'POST' && m) {
      const [, agent, mode] = m;
      if (!state[agent]) return reply(404, { error: `unknown agent ${agent}; agents: ${AGENTS.join(', ')}` });
      if (!MODES.includes(mode)) return reply(400, { error: `unknown mode ${mode}; modes: ${MODES.join(', ')}` });
      state[agent].mode = mode;
      return reply(200, { agent, mode });
    }
    if (req.method === 'GET' && req.url === '/agents') return reply(200, state);
    reply(404, { error: 'POST /agents/<agent>/<mode> or GET /agents' });
  });
  track(control);
  const cport = await listen(control, controlPort, host);
  return {
    urls,
    control: `http://${host}:${cport}`,
    setMode(agent, mode) {
      if (!state[agent] || !MODES.includes(mode)) throw new Error(`unknown agent or mode: ${agent} ${mode}`);
      state[agent].mode = mode;
    },
    requests: (agent) => state[agent].requests,
    close: async () => {
      sockets.forEach((s) => s.destroy());
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}

/** The environment that points the app at these agents. */
function agentEnv(urls) {
  return Object.fromEntries(Object.entries(urls).map(([a, u]) => [`AGENT_${a.toUpperCase().replace(/-/g, '_')}_URL`, u]));
}

module.exports = { startAgents, agentEnv, AGENTS, MODES };

if (require.main === module) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : dflt;
  };
  startAgents({ basePort: arg('--base-port', 4101), controlPort: arg('--control-port', 4100) }).then((sim) => {
    console.log(JSON.stringify({ control: sim.control, ...sim.urls }));
  });
}
