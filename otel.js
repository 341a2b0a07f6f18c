// `agent-circuit-breaker/otel`: OpenTelemetry metrics for the breakers (@opentelemetry/api). See lib/resilience/otel.ts.
'use strict';
module.exports = require('./lib/resilience/otel.js');
