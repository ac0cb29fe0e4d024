//! Proof Key for Code Exchange (RFC 7636), S256 only: `plain` offers no
//! protection against an attacker who sees the authorization request
//! (RFC 9700 §2.1.1).

use crate::crypto::{b64url, ct_eq_str, sha256};

/// RFC 7636 §4.1: 43-128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." /
/// "_" / "~"`. The challenge (a base64url SHA-256) has the same alphabet.
pub fn well_formed(v: &str) -> bool {
    (43..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// `BASE64URL(SHA256(verifier)) == challenge` (RFC 7636 §4.6).
pub fn verify(verifier: &str, challenge: &str) -> bool {
    well_formed(verifier) && ct_eq_str(&b64url(&sha256(verifier.as_bytes())), challenge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verify(verifier, challenge));
        assert!(!verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx", challenge));
        assert!(!verify("short", challenge));
    }
}
