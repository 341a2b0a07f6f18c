//! What can go wrong in a registry, each with a stable [`ErrorCode`] for JavaScript, and the one
//! message a caught panic becomes.

use std::fmt;

use crate::config::{show_number, ConfigError};
use crate::types::ErrorCode;

/// What can go wrong in a registry.
#[derive(Clone, Debug, PartialEq)]
pub enum RegistryError {
    /// A setting out of range.
    Config(ConfigError),
    /// An agent id that is empty, too long, or holds control characters.
    InvalidId(String),
    /// `add` of an id that already has a breaker.
    Exists(String),
    /// `add` past `maxAgents`.
    Full(usize),
    /// An id with no breaker.
    Unknown {
        /// The id asked for.
        id: String,
        /// The ids the registry holds.
        known: Vec<String>,
    },
    /// A slot number that names no breaker.
    BadSlot(f64),
}

impl RegistryError {
    /// The stable error code JavaScript sees as `error.code`.
    pub fn code(&self) -> ErrorCode {
        match self {
            RegistryError::Config(_) => ErrorCode::CircuitConfig,
            RegistryError::InvalidId(_) => ErrorCode::InvalidAgentId,
            RegistryError::Exists(_) => ErrorCode::AgentExists,
            RegistryError::Full(_) => ErrorCode::TooManyAgents,
            RegistryError::Unknown { .. } => ErrorCode::UnknownAgent,
            RegistryError::BadSlot(_) => ErrorCode::InvalidArg,
        }
    }
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::Config(e) => write!(f, "{e}"),
            RegistryError::InvalidId(why) => write!(f, "invalid agent id: {why}"),
            RegistryError::Exists(id) => write!(f, "agent {id:?} already has a circuit breaker"),
            RegistryError::Full(max) => write!(
                f,
                "cannot add another agent: the registry holds maxAgents = {max} breakers (raise maxAgents; none is evicted)"
            ),
            RegistryError::Unknown { id, known } => {
                let shown: Vec<_> = known.iter().take(10).map(|k| format!("{k:?}")).collect();
                let more = known.len().saturating_sub(10);
                let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
                let list = if known.is_empty() { "none".to_owned() } else { shown.join(", ") + &tail };
                write!(f, "unknown agent {id:?}: known agents are {list}; add({id:?}) creates one")
            }
            RegistryError::BadSlot(s) => write!(f, "slot {} names no breaker", show_number(*s)),
        }
    }
}

impl std::error::Error for RegistryError {}

impl From<ConfigError> for RegistryError {
    fn from(e: ConfigError) -> Self {
        RegistryError::Config(e)
    }
}

/// The message JavaScript gets (as `ERR_INTERNAL`) for a panic caught at the boundary.
pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    let what = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned());
    format!("internal error in agent-circuit-breaker: {}", what.unwrap_or_else(|| "panic".into()))
}
