//! OpenID Connect: discovery, the JWKS, UserInfo and RP-initiated logout.

pub mod discovery;
pub mod end_session;
pub mod jwks;
pub mod userinfo;
