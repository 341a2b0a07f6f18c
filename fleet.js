// `agent-circuit-breaker/fleet`: fleet sync (breaker state shared through Redis). See lib/resilience/fleet.ts.
'use strict';
module.exports = require('./lib/resilience/fleet.js');
