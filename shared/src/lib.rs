//! Tessera's core: every handler, independent of the host it runs on.
//!
//! [`handle`] takes an `http::Request` and a [`Host`] and returns the
//! response. The Workers and Spin hosts, and the native test host, are thin
//! adapters around it.

pub mod admin;
pub mod cache;
pub mod crypto;
pub mod email;
pub mod error;
pub mod host;
pub mod internal;
pub mod keys;
pub mod logs;
pub mod maintenance;
pub mod oauth;
pub mod oidc;
pub mod openapi;
pub mod origin;
pub mod pagination;
pub mod request;
pub mod response;
pub mod router;
pub mod schema;
pub mod session;
pub mod tenant;
pub mod types;
pub mod ui;
pub mod users;

pub use host::Host;
pub use request::ClientIp;
pub use router::handle;
