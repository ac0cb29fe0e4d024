//! Compact JWS with ES256 (RFC 7515 §7.1, RFC 7518 §3.4): the tokens the
//! core signs and the ones it checks.
//!
//! jwt-compact parses tokens and models their claims, but its signing and
//! verifying are synchronous calls into `p256`, and in Wasm one P-256
//! signature costs about a millisecond. Here the two halves of a JWS are
//! assembled around the host's ES256, which on Workers is workerd's
//! `node:crypto`.

use jwt_compact::{Claims, UntrustedToken};
use p256::ecdsa::{SigningKey, VerifyingKey};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::crypto::b64url;
use crate::error::{Error, Result};
use crate::host::Host;

/// The protected header: the only algorithm, the signing key, the token type.
#[derive(Serialize)]
struct Protected<'a> {
    alg: &'static str,
    kid: &'a str,
    typ: &'a str,
}

/// Signs `claims` with `key` as `kid`; `typ` is `JWT` or `at+jwt` (RFC 9068 §2.1).
pub async fn sign<H: Host, T: Serialize>(
    host: &H,
    key: &SigningKey,
    kid: &str,
    typ: &str,
    claims: &Claims<T>,
) -> Result<String> {
    let header = serde_json::to_vec(&Protected { alg: "ES256", kid, typ }).map_err(|e| Error::server(e.to_string()))?;
    let payload = serde_json::to_vec(claims).map_err(|e| Error::server(e.to_string()))?;
    let mut token = format!("{}.{}", b64url(&header), b64url(&payload));
    let signature =
        host.sign_es256(key, token.as_bytes()).await.map_err(|e| Error::server(format!("signing a token: {e}")))?;
    token.push('.');
    token.push_str(&b64url(&signature));
    Ok(token)
}

/// The claims of `token` if it is an ES256 JWS that `key` signed. Nothing
/// about the claims is checked here (expiry, issuer, audience are the
/// caller's).
pub async fn verify<H: Host, T: DeserializeOwned>(host: &H, key: &VerifyingKey, token: &str) -> Option<Claims<T>> {
    let untrusted = UntrustedToken::new(token).ok()?;
    // RFC 8725 §3.1: the algorithm is ours to fix, never the token's to pick.
    if untrusted.algorithm() != "ES256" {
        return None;
    }
    let (signed, _) = token.rsplit_once('.')?;
    if !host.verify_es256(key, signed.as_bytes(), untrusted.signature_bytes()).await {
        return None;
    }
    untrusted.deserialize_claims_unchecked().ok()
}
