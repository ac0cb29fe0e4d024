//! The body of a run request from the edge to the actions host, and of its
//! answer. Signed as a whole ([`super::signature`]).
//!
//! The host is stateless: each request names the actions to run, in order,
//! with their code (or, for components, the content hash the host may
//! already have compiled) and their secrets.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Trigger;

pub const RUN_PATH: &str = "/v1/run";

/// Largest request body the host reads (JavaScript sources are at most
/// [`MAX_SOURCE_BYTES`]; components travel base64-encoded).
pub const MAX_REQUEST_BYTES: usize = 8 << 20;
/// Largest JavaScript source an action may have.
pub const MAX_SOURCE_BYTES: usize = 100 * 1024;
/// Largest WebAssembly component an action may upload (base64 in a D1 row,
/// whose limit is 2 MB).
pub const MAX_COMPONENT_BYTES: usize = 1 << 20;

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    /// `exports.onExecutePostLogin = async (event, api) => {...}`
    Js,
    /// A component of the `tessera:actions/action` world (`actions-host/wit`).
    Wasm,
}

impl Runtime {
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Js => "js",
            Runtime::Wasm => "wasm",
        }
    }

    pub fn parse(s: &str) -> Option<Runtime> {
        match s {
            "js" => Some(Runtime::Js),
            "wasm" => Some(Runtime::Wasm),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRequest {
    /// Unique per request: the host's replay check and the edge's logs name it.
    pub id: String,
    pub tenant: String,
    pub trigger: Trigger,
    /// The time of the event in milliseconds since the epoch: the only
    /// clock an action sees (`Date.now()`).
    pub now_ms: i64,
    /// Auth0's `event` object for the trigger, without `secrets`.
    pub event: serde_json::Value,
    /// Run in this order; the host stops after the first deny.
    pub actions: Vec<ActionCode>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionCode {
    pub action_id: String,
    pub version: i64,
    pub runtime: Runtime,
    /// Hex SHA-256 of the code (the source's UTF-8, or the component's bytes).
    pub hash: String,
    /// The JavaScript source, or the component base64-encoded. The edge
    /// leaves it out at first: the host answers `unknown_module` when it has
    /// not compiled that hash yet, and the edge sends it again with the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Handed to the run as `event.secrets`.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResponse {
    /// One per action that ran, in order; fewer than asked when one denied.
    pub results: Vec<RunResult>,
}

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LogLine {
    pub level: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The action threw, rejected, never settled or returned bad output.
    Exception,
    /// The CPU budget (fuel or the deadline) ran out.
    Timeout,
    /// The memory cap was hit.
    Memory,
    /// The Wasm trapped (a component's `unreachable`, a stack overflow).
    Trap,
    /// The module does not load: bad Wasm, a wrong world, an import that
    /// actions are not offered.
    Invalid,
    /// An action the host has not compiled, sent by hash without its code.
    UnknownModule,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Exception => "exception",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Memory => "memory",
            ErrorKind::Trap => "trap",
            ErrorKind::Invalid => "invalid",
            ErrorKind::UnknownModule => "unknown_module",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunError {
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    pub action_id: String,
    pub version: i64,
    /// Raw decisions, validated by the edge ([`super::decision::validate`]).
    #[serde(default)]
    pub decisions: Vec<serde_json::Value>,
    #[serde(default)]
    pub logs: Vec<LogLine>,
    #[serde(default)]
    pub logs_truncated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RunError>,
    pub duration_us: u64,
}
