/**
 * OpenTelemetry metrics for the app: when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
 * `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`) is set, the agent loop's breaker instruments
 * (`agent-circuit-breaker/otel`) are pushed over OTLP/HTTP to that collector, once per process.
 * Unset, nothing is loaded: the OpenTelemetry packages are imported only when it is on.
 *
 * The standard variables:
 * - `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` (the full URL) or `OTEL_EXPORTER_OTLP_ENDPOINT` (the base:
 *   `/v1/metrics` is appended), read from `env`;
 * - `OTEL_METRIC_EXPORT_INTERVAL` / `OTEL_METRIC_EXPORT_TIMEOUT` (ms, default the SDK's 60000 / 30000),
 *   read from `env`; an invalid value is an `AgentConfigError` naming the variable;
 * - `OTEL_SDK_DISABLED=true` or `OTEL_METRICS_EXPORTER=none` turn it off;
 * - the exporter itself reads the others from `process.env` (`OTEL_EXPORTER_OTLP_HEADERS`,
 *   `_TIMEOUT`, `_COMPRESSION`, `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`, TLS files).
 *
 * The payload is OTLP JSON (`http/json`: @opentelemetry/exporter-metrics-otlp-http sends nothing
 * else), which every OTLP/HTTP receiver accepts on the same port as protobuf. `grpc` is refused.
 */

// Types only: the packages themselves are imported when OpenTelemetry is on.
import type { MeterProvider, PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { AgentConfigError } from './agent-config';
import { consoleLogger, type AgentLoop } from './agent-loop';
import { loopMetricsSource } from './metrics-source';
import type { Logger } from './agent-types';

const GLOBAL = Symbol.for('agent-circuit-breaker.otel');
/** The service name the metrics carry when neither OTEL_SERVICE_NAME nor OTEL_RESOURCE_ATTRIBUTES names one. */
export const DEFAULT_SERVICE_NAME = 'agent-circuit-breaker-app';
type Holder = { [GLOBAL]?: Promise<OtelMetrics> };

/** The app's OpenTelemetry metrics pipeline, running. */
export interface OtelMetrics {
  /** The provider the breaker instruments live on (not registered globally). */
  readonly provider: MeterProvider;
  /** Where the metrics are sent. */
  readonly url: string;
  /** The export period, in ms. */
  readonly intervalMs: number;
  /** Exports now. */
  forceFlush(): Promise<void>;
  /** Stops the instruments, exports what is left and shuts the provider down; a later `startOtel` starts anew. */
  shutdown(): Promise<void>;
}

/** Options of `startOtel` beyond the environment. */
export interface OtelOptions {
  /** Where export failures (and the recovery after them) are logged, once per change. @default consoleLogger */
  logger?: Logger;
}

/** A positive integer of milliseconds from `env`, or undefined when unset. */
function millis(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw.trim());
  if (!Number.isInteger(n) || n < 1 || n > 2_147_483_647) {
    throw new AgentConfigError(name, `${name} must be an integer number of milliseconds in 1..=2147483647 (got ${JSON.stringify(raw)})`);
  }
  return n;
}

/** The metrics URL from `env`: the signal's own endpoint as is, else the base endpoint + `v1/metrics`. */
function metricsUrl(env: NodeJS.ProcessEnv): { url: string; variable: string } | undefined {
  const own = env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT?.trim();
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const [variable, url] = own ? ['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', own] : base ? ['OTEL_EXPORTER_OTLP_ENDPOINT', `${base.replace(/\/+$/, '')}/v1/metrics`] : [];
  if (variable === undefined || url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AgentConfigError(variable, `${variable} must be an http:// or https:// URL (got ${JSON.stringify(env[variable])})`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new AgentConfigError(variable, `${variable} must be an http:// or https:// URL (got ${JSON.stringify(env[variable])})`);
  }
  return { url, variable };
}

/** Whether the environment turns OpenTelemetry metrics on, and where to; throws for unusable values. */
function settings(env: NodeJS.ProcessEnv) {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  if (env.OTEL_METRICS_EXPORTER?.trim().toLowerCase() === 'none') return undefined;
  const target = metricsUrl(env);
  if (!target) return undefined;
  for (const name of ['OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const protocol = env[name]?.trim();
    if (protocol === 'grpc') {
      throw new AgentConfigError(name, `${name}=grpc is not supported: the app exports OTLP over HTTP (http/json); point the endpoint at the collector's HTTP port (4318)`);
    }
    if (protocol) break; // the signal's own setting wins
  }
  const intervalMs = millis(env, 'OTEL_METRIC_EXPORT_INTERVAL');
  const timeoutMs = millis(env, 'OTEL_METRIC_EXPORT_TIMEOUT');
  if (intervalMs !== undefined && timeoutMs !== undefined && timeoutMs > intervalMs) {
    throw new AgentConfigError('OTEL_METRIC_EXPORT_TIMEOUT', `OTEL_METRIC_EXPORT_TIMEOUT (${timeoutMs}) must not exceed OTEL_METRIC_EXPORT_INTERVAL (${intervalMs})`);
  }
  return { url: target.url, intervalMs, timeoutMs };
}

/** The exporter, logging once when exports start failing and once when they succeed again. */
function logged(exporter: PushMetricExporter, url: string, logger: Logger): PushMetricExporter {
  let failing = false;
  return {
    export(batch, done) {
      exporter.export(batch, (result) => {
        // ExportResultCode.SUCCESS is 0.
        if (result.code !== 0 && !failing) {
          failing = true;
          logger.warn({ msg: 'otel_export_failed', url, error: result.error?.message ?? 'export failed' });
        } else if (result.code === 0 && failing) {
          failing = false;
          logger.info({ msg: 'otel_export_recovered', url });
        }
        done(result);
      });
    },
    forceFlush: () => exporter.forceFlush(),
    shutdown: () => exporter.shutdown(),
    selectAggregationTemporality: exporter.selectAggregationTemporality?.bind(exporter),
    selectAggregation: exporter.selectAggregation?.bind(exporter),
  };
}

/**
 * Starts pushing the breaker metrics over OTLP/HTTP when `env` asks for it (see the header), once per
 * process: the pipeline is kept on `globalThis`, so a Next.js dev reload (or a second call) gets the
 * running one rather than a second exporter. `loop` is the agent loop whose breakers, fallbacks and
 * (in fleet mode, when on at start) fleet link are read; a function is called at each collection, so
 * the process's loop may be replaced (`configureAgentLoop`). Resolves to undefined, having loaded no
 * OpenTelemetry package, when the endpoint is unset or OpenTelemetry is disabled; rejects with an
 * `AgentConfigError` naming the variable for an unusable value.
 */
export async function startOtel(
  loop: AgentLoop | (() => AgentLoop),
  env: NodeJS.ProcessEnv = process.env,
  options: OtelOptions = {},
): Promise<OtelMetrics | undefined> {
  const holder = globalThis as Holder;
  const running = holder[GLOBAL];
  if (running) return running;
  const wanted = settings(env);
  if (!wanted) return undefined;
  // Forgotten when it fails to start or is shut down: a later call starts anew.
  const forget = () => {
    if (holder[GLOBAL] === starting) delete holder[GLOBAL];
  };
  const starting = create(typeof loop === 'function' ? loop : () => loop, wanted, options.logger ?? consoleLogger, forget);
  holder[GLOBAL] = starting;
  starting.catch(forget);
  return starting;
}

/** Loads the OpenTelemetry packages and starts the pipeline over the loop `current` returns. */
async function create(
  current: () => AgentLoop,
  { url, intervalMs, timeoutMs }: { url: string; intervalMs?: number; timeoutMs?: number },
  logger: Logger,
  forget: () => void,
): Promise<OtelMetrics> {
  const [{ MeterProvider, PeriodicExportingMetricReader }, { OTLPMetricExporter }, { registerCircuitInstruments }, resources] = await Promise.all([
    import('@opentelemetry/sdk-metrics'),
    import('@opentelemetry/exporter-metrics-otlp-http'),
    import('agent-circuit-breaker/otel'),
    import('@opentelemetry/resources'),
  ]);
  const exporter = logged(new OTLPMetricExporter({ url }), url, logger);
  const reader = new PeriodicExportingMetricReader({
    exporter,
    ...(intervalMs === undefined ? {} : { exportIntervalMillis: intervalMs }),
    ...(timeoutMs === undefined ? {} : { exportTimeoutMillis: timeoutMs }),
  });
  // service.name: OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES when set, else this app's name.
  const resource = resources.defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': DEFAULT_SERVICE_NAME }))
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new MeterProvider({ readers: [reader], resource });
  let instruments: ReturnType<typeof registerCircuitInstruments>;
  try {
    instruments = registerCircuitInstruments(
      loopMetricsSource(current),
      // The agents' calls take milliseconds: the call-duration histogram's cost per call is noise here.
      { meter: provider.getMeter('agent-circuit-breaker'), callDurations: true },
    );
  } catch (error) {
    await provider.shutdown().catch(() => undefined);
    throw error;
  }
  return {
    provider,
    url,
    intervalMs: intervalMs ?? 60_000,
    forceFlush: () => provider.forceFlush(),
    async shutdown() {
      forget();
      // The provider's shutdown exports the final values, the instruments still observing; then they stop.
      try {
        await provider.shutdown();
      } finally {
        instruments.close();
      }
    },
  };
}
