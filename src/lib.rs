//! agent-circuit-breaker: per-agent circuit breakers with a Rust state machine behind a Node-API addon.
//!
//! Where to look: [`types`] holds the shared names and values (it imports nothing); [`breaker`] is
//! the state machine (every state change in `Breaker::transition`); [`registry`] holds breakers by
//! agent id; [`words`] owns the table JavaScript shares; [`contract`] states what TypeScript is
//! generated from. The core never touches napi; [`binding`] and [`hot`] are the only places that do.
#![deny(missing_docs)]

pub mod breaker;
pub mod clock;
pub mod config;
pub mod contract;
pub mod error;
pub mod metrics;
pub mod registry;
pub mod snapshot;
pub mod table;
pub mod types;
pub mod window;
pub mod words;

#[cfg(feature = "node")]
pub mod binding;
#[cfg(feature = "node")]
pub mod hot;

#[cfg(test)]
mod model_tests;
