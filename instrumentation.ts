/**
 * Runs once when a Next.js server starts: in the Node.js runtime, checks the agent loop's
 * configuration so that an invalid value stops start-up with a message naming the variable, and
 * in fleet mode waits for the first sync with Redis. Then, when `OTEL_EXPORTER_OTLP_ENDPOINT` is
 * set, starts pushing the breaker metrics over OTLP (`app/lib/ai/otel.ts`, which imports the
 * OpenTelemetry packages only then); an invalid OTEL_* value stops start-up the same way.
 */

export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME === 'nodejs') {
    const { start } = await import('./app/lib/ai/startup');
    await start();
    const [{ startOtel }, { getAgentLoop }] = await Promise.all([import('./app/lib/ai/otel'), import('./app/lib/ai/agent-loop')]);
    try {
      await startOtel(getAgentLoop);
    } catch (error) {
      console.error(`OpenTelemetry metrics could not start: ${(error as Error).message}`);
      process.exit(1);
    }
  }
}
