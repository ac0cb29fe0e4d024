//! OpenID Connect: discovery and the JWKS. Token issuance lands with the
//! authorization server.

pub mod discovery;
pub mod jwks;
