/**
 * The operators' dashboard at `/`, in a real browser: Debian's chromium (playwright-core) against
 * the built app under `next start` and the five simulated agents. With DIAGNOSTICS_TOKEN: the token
 * gate (nothing rendered before it), amazon tripped over HTTP turning OPEN on the page without a
 * reload, the countdown falling, HALF_OPEN within 2 s of the open timeout with no traffic, Hold open
 * and Reset after a confirmation. Without it: the open read-only view, and the 403 a Reset gets.
 * Writes artifacts/dashboard.png (and docs/dashboard.png with UPDATE_SCREENSHOT=1). Needs `npm run build:app` first (the test command runs it).
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchChromium, request, watchProblems, type PageProblem } from './helpers/browser';
import { AgentCircuitBreaker, MARKETPLACE_AGENTS } from 'agent-circuit-breaker';
import { attachFleet, type FleetSync } from 'agent-circuit-breaker/fleet';
import { AGENTS, agentEnv, startAgents, startNext, type NextApp, type Sim } from './helpers/next-app';
import { RedisServer } from './helpers/redis-server';

jest.setTimeout(120_000);

const root = path.resolve(__dirname, '../..');
// The artifact of every run (gitignored); UPDATE_SCREENSHOT=1 also writes the README's docs/dashboard.png.
const SCREENSHOT = path.join(root, 'artifacts', 'dashboard.png');
const README_SCREENSHOT = path.join(root, 'docs', 'dashboard.png');
const TOKEN = 'dashboard-secret-token';
const OPEN_TIMEOUT_MS = 5000;
const OFF = 'operator actions are off: set DIAGNOSTICS_TOKEN to enable them';

let sim: Sim | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  browser = await launchChromium();
  sim = await startAgents();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await sim?.close();
});

/** The app's environment: the simulated agents, a short open timeout, no fleet mode, and `token` if given. */
function appEnv(token: string | undefined): Record<string, string | undefined> {
  return {
    ...agentEnv(sim!.urls),
    CIRCUIT_OPEN_TIMEOUT_MS: String(OPEN_TIMEOUT_MS),
    AGENT_TIMEOUT_MS: '1000',
    DIAGNOSTICS_TOKEN: token,
    REDIS_URL: undefined,
  };
}

/** A page of a fresh browser context, with its console errors and page errors collected. */
async function openPage(): Promise<{ page: Page; problems: PageProblem[] }> {
  const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  return { page, problems: watchProblems(page) };
}

const card = (page: Page, agent: string): Locator => page.locator(`[data-agent="${agent}"]`);

/** Waits until `locator` matches exactly `n` elements, up to `ms`. */
async function waitForCount(locator: Locator, n: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while ((await locator.count()) !== n) {
    if (Date.now() > end) throw new Error(`expected ${n} of ${locator}, found ${await locator.count()} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The seconds the agent's countdown shows ("18 s" -> 18). */
async function countdown(page: Page, agent: string): Promise<number> {
  const text = (await card(page, agent).locator('[data-countdown]').textContent()) ?? '';
  const m = /^(\d+) s$/.exec(text.trim());
  if (!m) throw new Error(`countdown text ${JSON.stringify(text)} is not "<n> s"`);
  return Number(m[1]);
}

/** Clicks one of a card's action buttons and accepts (or dismisses) the confirmation; resolves to its question. */
async function act(page: Page, agent: string, name: 'Reset' | 'Hold open', answer: 'accept' | 'dismiss' = 'accept'): Promise<string> {
  const question = new Promise<string>((resolve) => {
    page.once('dialog', (dialog) => {
      resolve(dialog.message());
      void dialog[answer]();
    });
  });
  await card(page, agent).getByRole('button', { name: new RegExp(`^${name}\\b`) }).click();
  return question;
}

/** One POST to the analyze route for `agents`. */
async function analyze(base: string, agents: readonly string[]): Promise<void> {
  const res = await request('POST', `${base}/api/marketplace/analyze`, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input: { sku: 'B0C1' }, agents }),
  });
  expect(res.status).toBe(200);
}

/** One good analysis from every agent (amazon's is then its cached fallback), then five failing calls to amazon: it opens. */
async function tripAmazon(base: string): Promise<void> {
  await analyze(base, AGENTS);
  sim!.setMode('amazon', 'fail');
  for (let i = 0; i < 5; i++) await analyze(base, ['amazon']);
}

/**
 * Chromium logs every 4xx answer to a fetch as a console error ("Failed to load resource: ... 401").
 * Those the test provokes on purpose (`statuses`, on the diagnostics routes) are expected; any other
 * console error or page error is not.
 */
function unexpected(problems: PageProblem[], statuses: number[]): PageProblem[] {
  return problems.filter((p) => {
    const m = /^Failed to load resource: the server responded with a status of (\d+)/.exec(p.text);
    return !(p.kind === 'console' && m && statuses.includes(Number(m[1])) && p.url.includes('/api/marketplace/diagnostics'));
  });
}

describe('the dashboard with DIAGNOSTICS_TOKEN set', () => {
  let app: NextApp | undefined;
  let page: Page;
  let problems: PageProblem[];

  beforeAll(async () => {
    if (!browser || !sim) return; // the file's beforeAll failed, and its error is what every test reports
    app = await startNext(appEnv(TOKEN));
    ({ page, problems } = await openPage());
  }, 90_000);

  afterAll(async () => {
    await page?.context().close();
    await app?.stop();
  });

  test('the server-rendered page is the token gate, with no agent data', async () => {
    const { status, text } = await request('GET', `${app!.base}/`);
    expect(status).toBe(200);
    expect(text).toContain('Diagnostics token');
    expect(text).not.toContain('data-agent');
    for (const agent of AGENTS) expect(text).not.toContain(agent);
  });

  test('the page asks for the token; a wrong one stays gated; the right one shows five CLOSED cards', async () => {
    await page.goto(`${app!.base}/`);
    await page.evaluate('window.__sameDocument = true');
    const field = page.getByLabel('Diagnostics token');
    await field.waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-agent]').count()).toBe(0);

    await field.fill('not-the-token');
    await field.press('Enter');
    await page.getByText('wrong token').waitFor({ timeout: 5000 });
    expect(await page.locator('[data-agent]').count()).toBe(0);
    expect(await field.isVisible()).toBe(true);

    await field.fill(TOKEN);
    await page.getByRole('button', { name: 'Show the breakers' }).click();
    await waitForCount(page.locator('[data-agent][data-state="CLOSED"]'), 5, 5000);
    const cards = page.locator('[data-agent]');
    const order = await Promise.all(Array.from({ length: await cards.count() }, (_, i) => cards.nth(i).getAttribute('data-agent')));
    expect(order).toEqual([...AGENTS]);
    expect(await page.getByLabel('Diagnostics token').count()).toBe(0);
    expect(await card(page, 'amazon').textContent()).toContain('0 / 5');
    // Fleet mode is off (diagnostics' fleet: null): nothing of it shows.
    expect(await page.getByText(/Fleet link|Last remote transition/).count()).toBe(0);
    // Kept in this tab's sessionStorage, never in the URL, and the page was not reloaded.
    expect(page.url()).toBe(`${app!.base}/`);
    expect(await page.evaluate('Object.values(sessionStorage)')).toEqual([TOKEN]);
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
  });

  test('amazon trips over HTTP: OPEN on the page within 2 s without a reload, and its countdown falls', async () => {
    await tripAmazon(app!.base);
    const tripped = Date.now();
    await page.waitForSelector('[data-agent="amazon"][data-state="OPEN"]', { timeout: 2000 });
    expect(Date.now() - tripped).toBeLessThanOrEqual(2000);
    expect(await page.evaluate('window.__sameDocument')).toBe(true);

    const amazon = card(page, 'amazon');
    const text = (await amazon.textContent()) ?? '';
    expect(text).toContain('OPEN'); // the state in words, not colour alone
    expect(text).toContain('5 / 5');
    expect(text).toMatch(/open after 5 consecutive HTTP 5xx answers/);
    expect(text).toMatch(/CLOSED → OPEN \(failure_threshold\)/);
    expect(text).toContain('Fallbacks served5 (5 cached, 0 empty)');
    expect(await amazon.locator('svg[role="img"]').getAttribute('aria-label')).toMatch(/^error rate 83 %/); // 5 failures of 6 calls
    for (const other of AGENTS.filter((a) => a !== 'amazon')) expect(await card(page, other).getAttribute('data-state')).toBe('CLOSED');

    const first = await countdown(page, 'amazon');
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(OPEN_TIMEOUT_MS / 1000);
    await new Promise((r) => setTimeout(r, 1200)); // the one fixed wait: the countdown must fall by itself
    const second = await countdown(page, 'amazon');
    expect(second).toBeLessThan(first);

    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    if (process.env.UPDATE_SCREENSHOT === '1') await page.screenshot({ path: README_SCREENSHOT, fullPage: true });
  });

  test('with no traffic, amazon shows HALF_OPEN within 2 s after its open timeout passes', async () => {
    const res = await request('GET', `${app!.base}/api/marketplace/diagnostics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const { retryAt } = (JSON.parse(res.text) as { agents: Record<string, { retryAt: string }> }).agents.amazon;
    const seen = sim!.requests('amazon');
    const due = Date.parse(retryAt);
    await page.waitForSelector('[data-agent="amazon"][data-state="HALF_OPEN"]', { timeout: Math.max(0, due - Date.now()) + 2000 });
    expect(Date.now() - due).toBeLessThanOrEqual(2000);
    expect(sim!.requests('amazon')).toBe(seen);
    expect(await card(page, 'amazon').textContent()).toMatch(/OPEN → HALF_OPEN \(open_timeout_elapsed\)/);
  });

  test('Hold open, then Reset, each after a confirmation, with the result announced', async () => {
    const status = page.locator('p.notice[role="status"]');
    // Dismissed: nothing is sent.
    const posts: string[] = [];
    const onRequest = (r: { method(): string; url(): string }) => r.method() === 'POST' && posts.push(r.url());
    page.on('request', onRequest);
    expect(await act(page, 'amazon', 'Hold open', 'dismiss')).toMatch(/^Hold amazon open\?/);
    await page.waitForTimeout(300); // a POST would have left by now
    expect(posts).toEqual([]);
    expect(await card(page, 'amazon').getAttribute('data-state')).not.toBe('OPEN');
    page.off('request', onRequest);

    expect(await act(page, 'amazon', 'Hold open')).toMatch(/^Hold amazon open\?/);
    await page.waitForSelector('[data-agent="amazon"][data-state="OPEN"]', { timeout: 3000 });
    await status.getByText('Hold open amazon: done, now OPEN').waitFor({ timeout: 3000 });
    expect(await card(page, 'amazon').textContent()).toContain('held until reset');
    expect(await card(page, 'amazon').locator('[data-countdown]').count()).toBe(0);

    expect(await act(page, 'amazon', 'Reset')).toMatch(/^Reset amazon\?/);
    await page.waitForSelector('[data-agent="amazon"][data-state="CLOSED"]', { timeout: 3000 });
    await status.getByText('Reset amazon: done, now CLOSED').waitFor({ timeout: 3000 });
    expect(await card(page, 'amazon').textContent()).toContain('0 / 5');
  });

  test('"Forget the token" gates the page again', async () => {
    await page.getByRole('button', { name: 'Forget the token' }).click();
    await page.getByLabel('Diagnostics token').waitFor({ timeout: 3000 });
    expect(await page.locator('[data-agent]').count()).toBe(0);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  test('no console errors and no page errors (besides the 401 the wrong token got)', () => {
    expect(unexpected(problems, [401])).toEqual([]);
  });
});

describe('the dashboard without DIAGNOSTICS_TOKEN', () => {
  let app: NextApp | undefined;
  let page: Page;
  let problems: PageProblem[];

  beforeAll(async () => {
    if (!browser || !sim) return; // as above
    for (const agent of AGENTS) sim.setMode(agent, 'ok');
    app = await startNext(appEnv(undefined));
    ({ page, problems } = await openPage());
  }, 90_000);

  afterAll(async () => {
    await page?.context().close();
    await app?.stop();
  });

  test('the cards show without a gate, and a Reset shows the 403 message', async () => {
    await page.goto(`${app!.base}/`);
    await waitForCount(page.locator('[data-agent][data-state="CLOSED"]'), 5, 10_000);
    expect(await page.getByLabel('Diagnostics token').count()).toBe(0);

    expect(await act(page, 'shopee', 'Reset')).toMatch(/^Reset shopee\?/);
    await page.locator('p.notice[role="status"]').getByText(OFF).waitFor({ timeout: 3000 });
    expect(await card(page, 'shopee').getAttribute('data-state')).toBe('CLOSED');
  });

  test('no console errors and no page errors (besides the 403 the Reset got)', () => {
    expect(unexpected(problems, [403])).toEqual([]);
  });
});

describe('the dashboard in fleet mode', () => {
  let redis: RedisServer | undefined;
  let app: NextApp | undefined;
  let peer: FleetSync | undefined;
  let page: Page;
  let problems: PageProblem[];
  const peerBreakers = new AgentCircuitBreaker({ agents: MARKETPLACE_AGENTS });
  const fleet = { CIRCUIT_REDIS_PREFIX: 'dashboard-fleet:', CIRCUIT_SYNC_INTERVAL_MS: '200' };

  beforeAll(async () => {
    if (!browser || !sim) return; // as above
    for (const agent of AGENTS) sim.setMode(agent, 'ok');
    redis = await RedisServer.start();
    app = await startNext({ ...appEnv(undefined), REDIS_URL: redis.url, ...fleet });
    // Another instance of the fleet: a registry in this process, attached to the same Redis and prefix.
    peer = attachFleet(peerBreakers, { redis: redis.url, prefix: fleet.CIRCUIT_REDIS_PREFIX, instanceId: 'peer-instance', syncIntervalMs: 200 });
    await peer.ready();
    ({ page, problems } = await openPage());
  }, 90_000);

  afterAll(async () => {
    await page?.context().close();
    await peer?.close();
    await app?.stop();
    await redis?.stop();
  });

  test('the fleet link shows, and a trip on another instance turns the card OPEN naming that instance', async () => {
    await page.goto(`${app!.base}/`);
    await waitForCount(page.locator('[data-agent][data-state="CLOSED"]'), 5, 10_000);
    const link = page.getByRole('region', { name: 'Fleet link' });
    await link.getByText('connected', { exact: true }).waitFor({ timeout: 3000 });
    // Both instances are seen once each has synced.
    await link.getByText(/Instances seen\s*2/).waitFor({ timeout: 5000 });

    for (let i = 0; i < 5; i++) await peerBreakers.execute('shein', () => Promise.reject(new Error('down'))).catch(() => undefined);
    expect(peerBreakers.state('shein')).toBe('OPEN');
    await page.waitForSelector('[data-agent="shein"][data-state="OPEN"]', { timeout: 2000 });
    expect(await card(page, 'shein').textContent()).toMatch(/OPEN from peer-instance/);
    expect(await card(page, 'shein').textContent()).toMatch(/open fleet-wide: opened by instance peer-instance/);
  });

  test('no console errors and no page errors', () => {
    expect(unexpected(problems, [])).toEqual([]);
  });
});
