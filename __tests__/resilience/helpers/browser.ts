/**
 * Real-browser helpers for the dashboard test: Debian's chromium driven by playwright-core, and a
 * collector of the page's console errors and page errors. (The app itself: helpers/next-app.ts.)
 */

import * as fs from 'node:fs';
import * as http from 'node:http';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where the test expects chromium (Debian's package; the test command installs it). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a headless chromium on a closed network: without the background-networking ones it stalls. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];


/** An error whose report is its one-line message (no stack to scroll past). */
function oneLine(message: string): Error {
  const error = new Error(message);
  error.stack = message;
  return error;
}

/** Launches headless chromium; throws one line naming the fix when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw oneLine(`chromium is not installed at ${CHROMIUM_PATH}: run \`apt-get install -y chromium\` (the test command does)`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** A console error or page error seen in the page; `url` is where (for a network log, the request). */
export interface PageProblem {
  kind: 'console' | 'pageerror';
  text: string;
  url: string;
}

/** Collects the page's console errors and uncaught page errors into the returned array, as they happen. */
export function watchProblems(page: Page): PageProblem[] {
  const seen: PageProblem[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') seen.push({ kind: 'console', text: m.text(), url: m.location().url });
  });
  page.on('pageerror', (e) => seen.push({ kind: 'pageerror', text: e.stack ?? e.message, url: page.url() }));
  return seen;
}

/** One HTTP request without keep-alive; resolves to the status and body (status 0 when nothing answers). */
export function request(
  method: string,
  url: string,
  { body, headers = {} }: { body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', () => resolve({ status: 0, text: '' }));
    req.end(body);
  });
}
