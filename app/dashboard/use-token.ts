'use client';

/**
 * The operator's token, kept in sessionStorage (this tab, until it closes) and never in a URL. A
 * tiny external store, so every component reading it re-renders when it changes.
 */

import { useSyncExternalStore } from 'react';

const KEY = 'agent-circuit-breaker.diagnostics-token';

/** What this module uses of sessionStorage (typed here, so the module also checks without the DOM library). */
interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** This tab's sessionStorage; throws where there is none (on the server) or it is disabled. */
function storage(): TokenStorage {
  const s = (globalThis as { sessionStorage?: TokenStorage }).sessionStorage;
  if (!s) throw new Error('no sessionStorage');
  return s;
}
const listeners = new Set<() => void>();
/** Used when sessionStorage is unavailable (disabled storage): the token then lasts for the page. */
let memory: string | null = null;

function read(): string | null {
  try {
    return storage().getItem(KEY);
  } catch {
    return memory;
  }
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Stores the token (null forgets it) and tells every reader. */
export function saveToken(token: string | null): void {
  memory = token;
  try {
    if (token === null) storage().removeItem(KEY);
    else storage().setItem(KEY, token);
  } catch {
    // storage disabled: `memory` holds it
  }
  listeners.forEach((listener) => listener());
}

/** The stored token, or null (always null while rendering on the server). */
export function useToken(): string | null {
  return useSyncExternalStore(subscribe, read, () => null);
}
