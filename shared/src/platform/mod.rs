//! The platform's own credentials: platform API keys with roles, and
//! super-admin ES256 JWTs (our own issuer or a trusted one).

pub mod auth;
pub mod jwt;
pub mod keys;
