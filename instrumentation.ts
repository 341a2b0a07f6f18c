/**
 * Runs once when a Next.js server starts: in the Node.js runtime, checks the agent loop's
 * configuration so that an invalid value stops start-up with a message naming the variable, and
 * in fleet mode waits for the first sync with Redis.
 */

export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME === 'nodejs') {
    const { start } = await import('./app/lib/ai/startup');
    await start();
  }
}
