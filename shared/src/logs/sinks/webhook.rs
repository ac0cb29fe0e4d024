//! The webhook sink: a JSON array POST whose `Tessera-Signature` header
//! carries `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
//! Signing the timestamp with the body lets a receiver refuse replays of an
//! old delivery (the README shows a receiver that checks both).

use super::{build, json_array, Batch, WebhookSink};
use crate::crypto::{hex, hmac_sha256};
use crate::error::{Error, Result};

pub const SIGNATURE_HEADER: &str = "tessera-signature";

/// The header value for a body sent at `unix_seconds`.
pub fn signature_header(secret: &[u8], unix_seconds: i64, body: &[u8]) -> String {
    let mut signed = format!("{unix_seconds}.").into_bytes();
    signed.extend_from_slice(body);
    format!("t={unix_seconds},v1={}", hex(&hmac_sha256(secret, &signed)))
}

pub(super) fn requests(s: &WebhookSink, b: &Batch<'_>) -> Result<Vec<http::Request<Vec<u8>>>> {
    let secret = s.secret.as_deref().ok_or_else(|| Error::server("webhook stream without its secret"))?;
    let body = json_array(b.events);
    let signature = signature_header(secret.as_bytes(), b.now_ms.div_euclid(1000), &body);
    let headers = [
        ("content-type", "application/json".to_string()),
        ("tessera-batch-id", b.id.to_string()),
        (SIGNATURE_HEADER, signature),
    ];
    Ok(vec![build("POST", &s.url, &headers, body)?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_covers_timestamp_and_body() {
        let h = signature_header(b"whsec", 1_700_000_000, b"[]");
        let expected = hex(&hmac_sha256(b"whsec", b"1700000000.[]"));
        assert_eq!(h, format!("t=1700000000,v1={expected}"));
        assert_ne!(h, signature_header(b"whsec", 1_700_000_001, b"[]"));
        assert_ne!(h, signature_header(b"whsec", 1_700_000_000, b"[1]"));
    }
}
