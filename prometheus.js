// `agent-circuit-breaker/prometheus`: Prometheus metrics for the breakers (prom-client). See lib/resilience/prometheus.ts.
'use strict';
module.exports = require('./lib/resilience/prometheus.js');
