//! Tessera's core: every handler, independent of the host it runs on.
//!
//! [`handle`] takes an `http::Request` and a [`Host`] and returns the
//! response ([`handle_request`] takes the core's own request, which the
//! Workers host builds from the request's head without `http`'s types). The
//! Workers and Spin hosts, and the native test host, are thin adapters
//! around it.
//!
//! Three layers, imports pointing down only (`docs/architecture.md`; the
//! `architecture` test below holds it):
//!
//! - **web**: the router and `Ctx`, the handlers of each surface (hosted
//!   pages, OAuth/OIDC endpoints, management API, platform API, admin UI),
//!   templates, and how errors render on each surface;
//! - **use cases** (`usecases`): what several domains do together;
//! - **domains**: the rules and the SQL, taking `&impl Host` and typed input;
//! - **foundation**: host traits, newtypes, crypto, errors as data, caches.

// Foundation.
pub mod cache;
pub mod config;
pub mod crypto;
pub mod error;
pub mod host;
pub mod pagination;
pub mod secret;
pub mod types;

// Domains.
pub mod actions;
pub mod email;
pub mod keys;
pub mod logs;
pub mod mfa;
pub mod oauth;
pub mod platform;
pub mod scim;
pub mod session;
pub mod tenant;
pub mod users;

// Use cases across domains.
pub mod usecases;

// The HTTP surface.
pub mod web;

#[cfg(test)]
mod architecture;

pub use host::Host;
pub use web::request::ClientIp;
pub use web::router::{handle, handle_request};
