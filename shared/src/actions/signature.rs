//! The signature on every request from the edge to the actions host:
//! `Tessera-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>`.
//!
//! The timestamp is inside the MAC, so a captured request cannot be replayed
//! later than [`TOLERANCE_SECS`]; within that window the host refuses a
//! signature it has already seen. The same shape as Stripe's and Svix's
//! webhook signatures, so operators know it.

use crate::crypto::{ct_eq, hex, hmac_sha256};

pub const HEADER: &str = "tessera-signature";
/// How far the signer's clock may be from the verifier's, either way.
pub const TOLERANCE_SECS: i64 = 300;
/// A shared secret shorter than this is refused at start-up.
pub const MIN_SECRET_LEN: usize = 32;

pub fn sign(secret: &[u8], unix_secs: i64, body: &[u8]) -> String {
    format!("t={unix_secs},v1={}", hex(&mac(secret, unix_secs, body)))
}

fn mac(secret: &[u8], unix_secs: i64, body: &[u8]) -> [u8; 32] {
    let mut signed = Vec::with_capacity(body.len() + 12);
    signed.extend_from_slice(unix_secs.to_string().as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    hmac_sha256(secret, &signed)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    Missing,
    Malformed,
    /// Older or newer than the tolerance: a replay or a wrong clock.
    Stale,
    Mismatch,
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignatureError::Missing => "the request has no Tessera-Signature header",
            SignatureError::Malformed => "the Tessera-Signature header is malformed",
            SignatureError::Stale => "the signature's timestamp is outside the accepted window",
            SignatureError::Mismatch => "the signature does not match the body",
        })
    }
}

/// Checks a header against the body; returns the signed timestamp. The MAC
/// comparison is constant-time.
pub fn verify(secret: &[u8], header: Option<&str>, body: &[u8], now_secs: i64) -> Result<i64, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
            Some(("v1", v)) => v1 = Some(v),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(SignatureError::Malformed);
    };
    if (now_secs - t).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    if ct_eq(hex(&mac(secret, t, body)).as_bytes(), v1.as_bytes()) {
        Ok(t)
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_signed_body_verifies_and_anything_else_is_refused() {
        let h = sign(KEY, 1_700_000_000, b"{\"a\":1}");
        assert_eq!(verify(KEY, Some(&h), b"{\"a\":1}", 1_700_000_010), Ok(1_700_000_000));
        assert_eq!(verify(KEY, Some(&h), b"{\"a\":2}", 1_700_000_010), Err(SignatureError::Mismatch));
        assert_eq!(
            verify(b"another key of enough length.....", Some(&h), b"{\"a\":1}", 1_700_000_010),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify(KEY, Some(&h), b"{\"a\":1}", 1_700_000_000 + TOLERANCE_SECS + 1), Err(SignatureError::Stale));
        assert_eq!(verify(KEY, Some(&h), b"{\"a\":1}", 1_700_000_000 - TOLERANCE_SECS - 1), Err(SignatureError::Stale));
        assert_eq!(verify(KEY, None, b"", 0), Err(SignatureError::Missing));
        assert_eq!(verify(KEY, Some("v1=00"), b"", 0), Err(SignatureError::Malformed));
        assert_eq!(verify(KEY, Some("t=x,v1=00"), b"", 0), Err(SignatureError::Malformed));
        // A timestamp moved forward with the old MAC does not verify.
        let moved = h.replace("t=1700000000", "t=1700000100");
        assert_eq!(verify(KEY, Some(&moved), b"{\"a\":1}", 1_700_000_100), Err(SignatureError::Mismatch));
    }
}
