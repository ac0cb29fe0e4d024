//! The S3 sink (AWS, R2, MinIO and other S3-compatible stores): each batch
//! is one gzip NDJSON object at
//! `<prefix>/<tenant>/<yyyy>/<mm>/<dd>/<batch id>.ndjson.gz`, written with a
//! `PUT Object` signed with AWS Signature Version 4.

use super::{build, gzip, json_lines, Batch, S3Sink};
use crate::error::{Error, Result};
use crate::logs::sigv4;
use crate::secret::Secret;

/// S3's bucket naming rules (3-63 characters of lowercase letters, digits,
/// dots and hyphens, starting and ending with a letter or digit).
pub fn valid_bucket(b: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&b.len())
        && b.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edge(b.chars().next())
        && edge(b.chars().last())
        && !b.contains("..")
}

/// A key prefix of safe characters only, so keys need no escaping.
pub fn valid_prefix(p: &str) -> bool {
    p.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.')) && !p.contains("..")
}

/// The object key of a batch.
pub fn object_key(prefix: Option<&str>, tenant: &str, batch: &str, now_ms: i64) -> String {
    let day = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default().format("%Y/%m/%d");
    let prefix = prefix.map(|p| p.trim_matches('/')).filter(|p| !p.is_empty());
    match prefix {
        Some(p) => format!("{p}/{tenant}/{day}/{batch}.ndjson.gz"),
        None => format!("{tenant}/{day}/{batch}.ndjson.gz"),
    }
}

/// The object's URL, virtual-hosted (`bucket.host/key`) or path-style
/// (`host/bucket/key`, which MinIO and many S3-compatible stores need).
pub fn object_url(s: &S3Sink, key: &str) -> Result<String> {
    let endpoint = s.endpoint.clone().unwrap_or_else(|| format!("https://s3.{}.amazonaws.com", s.region));
    let uri: http::Uri = endpoint.parse().map_err(|_| Error::bad_request("endpoint: not a valid URL"))?;
    let scheme = uri.scheme_str().unwrap_or("https");
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
    Ok(if s.path_style {
        format!("{scheme}://{authority}/{}/{key}", s.bucket)
    } else {
        format!("{scheme}://{}.{authority}/{key}", s.bucket)
    })
}

pub(super) fn requests(s: &S3Sink, b: &Batch<'_>) -> Result<Vec<http::Request<Vec<u8>>>> {
    let secret = s.secret_access_key.clone().ok_or_else(|| Error::server("s3 stream without its secret key"))?;
    let key = object_key(s.prefix.as_deref(), b.tenant_id, b.id, b.now_ms);
    let body = gzip(&json_lines(b.events));
    let headers = [("content-type", "application/x-ndjson".to_string()), ("content-encoding", "gzip".to_string())];
    let mut req = build("PUT", &object_url(s, &key)?, &headers, body)?;
    let creds = sigv4::Credentials {
        access_key_id: s.access_key_id.clone(),
        secret_access_key: Secret::new(secret),
        session_token: s.session_token.clone(),
    };
    sigv4::sign(&mut req, &creds, &s.region, "s3", b.now_ms);
    Ok(vec![req])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_urls() {
        // 2026-12-02
        let ms = 1_796_200_000_000;
        assert_eq!(object_key(Some("/logs/"), "ten_1", "bat_1", ms), "logs/ten_1/2026/12/02/bat_1.ndjson.gz");
        assert_eq!(object_key(None, "ten_1", "bat_1", ms), "ten_1/2026/12/02/bat_1.ndjson.gz");
        let mut s = S3Sink {
            bucket: "audit-logs".into(),
            region: "eu-west-1".into(),
            prefix: None,
            endpoint: None,
            path_style: false,
            access_key_id: "AKID".into(),
            secret_access_key: Some("x".into()),
            session_token: None,
        };
        assert_eq!(object_url(&s, "k").unwrap(), "https://audit-logs.s3.eu-west-1.amazonaws.com/k");
        s.endpoint = Some("http://127.0.0.1:9000".into());
        s.path_style = true;
        assert_eq!(object_url(&s, "k").unwrap(), "http://127.0.0.1:9000/audit-logs/k");
        assert!(valid_bucket("audit-logs") && !valid_bucket("Audit") && !valid_bucket("a") && !valid_bucket("-ab"));
        assert!(valid_prefix("logs/tessera_1") && !valid_prefix("a b") && !valid_prefix("../x"));
    }
}
