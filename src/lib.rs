//! agent-circuit-breaker: per-agent circuit breakers with a Rust state machine behind a Node-API addon.
//!
//! The core ([`breaker`], [`registry`] and their helpers) never touches napi; [`binding`] and
//! [`hot`] are the only places that do.
#![deny(missing_docs)]

pub mod breaker;
pub mod clock;
pub mod config;
pub mod metrics;
pub mod registry;
pub mod snapshot;
pub mod window;

#[cfg(feature = "node")]
pub mod binding;
#[cfg(feature = "node")]
pub mod hot;

#[cfg(test)]
mod model_tests;
