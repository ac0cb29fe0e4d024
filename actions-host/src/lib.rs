//! The actions host, one native binary:
//!
//! - `serve`: runs tenants' actions in a Wasmtime sandbox ([`sandbox`])
//!   behind a signed HTTP endpoint ([`server`]). Stateless: operators run as
//!   many as they like behind a load balancer.
//! - `deliver`: the log-stream delivery worker ([`deliver`]) that drains the
//!   outbox Spin and local runs write audit events to, over the native
//!   SQLite host and a blocking HTTP client ([`outbound`]).

pub mod config;
pub mod deliver;
pub mod outbound;
pub mod sandbox;
pub mod server;
