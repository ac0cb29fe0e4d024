//! Where a stream sends its events, and how each destination wants them:
//! formatting, batching limits and signing live here so every host (the
//! Worker's queue consumer, the native delivery worker) sends the same bytes
//! through `Host::Outbound`.
//!
//! A sink's settings are split on the way in: plain settings are stored as
//! they are, and the fields in [`Sink::SECRET_FIELDS`] are sealed under the
//! tenant's data key and only ever shown masked.

mod datadog;
mod egress;
mod http_sink;
mod s3;
mod splunk;
mod webhook;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub use datadog::SITES as DATADOG_SITES;
pub use egress::Egress;
pub use webhook::{signature_header, SIGNATURE_HEADER};

/// One destination, tagged by `type`, with its settings in `sink`.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", content = "sink", rename_all = "snake_case")]
pub enum Sink {
    Http(HttpSink),
    Webhook(WebhookSink),
    Datadog(DatadogSink),
    Splunk(SplunkSink),
    S3(S3Sink),
}

/// A JSON array or newline-delimited JSON.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ContentFormat {
    #[default]
    JsonArray,
    JsonLines,
}

/// POSTs each batch to a URL.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSink {
    pub url: String,
    #[serde(default)]
    pub content_format: ContentFormat,
    /// The `Authorization` header's value (secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<String>,
    /// Extra headers (their values are secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// Compress the body (`Content-Encoding: gzip`).
    #[serde(default)]
    pub gzip: bool,
}

/// POSTs each batch as a JSON array, signed with HMAC-SHA256 over the
/// timestamp and the body.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSink {
    pub url: String,
    /// The signing secret (secret). Generated and shown once when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// Datadog's logs intake API v2.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatadogSink {
    /// The Datadog site: `datadoghq.com`, `us3.datadoghq.com`,
    /// `us5.datadoghq.com`, `datadoghq.eu`, `ap1.datadoghq.com`, `ddog-gov.com`.
    #[serde(default = "datadog::default_site")]
    pub site: String,
    /// `DD-API-KEY` (secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    #[serde(default = "datadog::default_service")]
    pub service: String,
    /// `ddsource`.
    #[serde(default = "datadog::default_source")]
    pub source: String,
    /// `ddtags`, comma-separated `key:value` pairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    /// The intake URL, when it is not the site's own (a proxy, a test).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Splunk's HTTP Event Collector.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplunkSink {
    /// The collector's base URL (`https://splunk.example.com:8088`).
    pub url: String,
    /// The HEC token (secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    #[serde(default = "splunk::default_source")]
    pub source: String,
    #[serde(default = "splunk::default_sourcetype")]
    pub sourcetype: String,
    /// The `host` field; the event's hostname when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// An S3 bucket (AWS, R2, MinIO): one gzip NDJSON object per batch under
/// `prefix/tenant/yyyy/mm/dd/`.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Sink {
    pub bucket: String,
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// An S3-compatible endpoint (`https://<account>.r2.cloudflarestorage.com`,
    /// a MinIO server); AWS's regional endpoint when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key`.
    #[serde(default)]
    pub path_style: bool,
    pub access_key_id: String,
    /// (secret)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<String>,
    /// (secret) For temporary credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
}

/// What a batch is sent with: the events as stored (each a JSON object
/// with its `log_id`), and what names the batch.
pub struct Batch<'a> {
    pub id: &'a str,
    pub tenant_id: &'a str,
    pub events: &'a [String],
    pub now_ms: i64,
}

impl Sink {
    pub fn type_name(&self) -> &'static str {
        match self {
            Sink::Http(_) => "http",
            Sink::Webhook(_) => "webhook",
            Sink::Datadog(_) => "datadog",
            Sink::Splunk(_) => "splunk",
            Sink::S3(_) => "s3",
        }
    }

    /// The fields of a sink's settings that are secret, per type.
    pub fn secret_fields(type_name: &str) -> &'static [&'static str] {
        match type_name {
            "http" => &["authorization", "headers"],
            "webhook" => &["secret"],
            "datadog" => &["api_key"],
            "splunk" => &["token"],
            "s3" => &["secret_access_key", "session_token"],
            _ => &[],
        }
    }

    /// How many events one request may carry (the destination's limits).
    pub fn max_batch(&self) -> usize {
        match self {
            // Datadog: at most 1,000 entries per request.
            Sink::Datadog(_) => datadog::MAX_ENTRIES,
            Sink::Webhook(_) => 200,
            _ => 1000,
        }
    }

    /// Checks settings a stream cannot work without, and that every URL it
    /// would send to (given, or derived from a site or region) may be
    /// reached ([`Egress`]).
    pub fn validate(&self, egress: &Egress) -> Result<()> {
        let url = |u: &str, field: &str| egress.check(u, field);
        match self {
            Sink::Http(s) => {
                url(&s.url, "url")?;
                for (name, value) in s.headers.iter().flatten() {
                    if http::HeaderName::from_bytes(name.as_bytes()).is_err()
                        || http::HeaderValue::from_str(value).is_err()
                    {
                        return Err(Error::bad_request(format!("headers: '{name}' is not a valid header")));
                    }
                }
                if let Some(a) = &s.authorization {
                    http::HeaderValue::from_str(a)
                        .map_err(|_| Error::bad_request("authorization is not a valid header value"))?;
                }
                Ok(())
            }
            Sink::Webhook(s) => url(&s.url, "url"),
            Sink::Datadog(s) => {
                if !datadog::SITES.contains(&s.site.as_str()) {
                    return Err(Error::bad_request(format!("site must be one of {}", datadog::SITES.join(", "))));
                }
                if s.api_key.as_deref().unwrap_or("").is_empty() {
                    return Err(Error::bad_request("api_key is required"));
                }
                url(&s.url.clone().unwrap_or_else(|| datadog::intake_url(&s.site)), "url")
            }
            Sink::Splunk(s) => {
                if s.token.as_deref().unwrap_or("").is_empty() {
                    return Err(Error::bad_request("token is required"));
                }
                url(&s.url, "url")
            }
            Sink::S3(s) => {
                if !s.prefix.as_deref().is_none_or(s3::valid_prefix) {
                    return Err(Error::bad_request("prefix may hold letters, digits, '/', '-', '_' and '.' only"));
                }
                if !s3::valid_bucket(&s.bucket) {
                    return Err(Error::bad_request("bucket is not a valid S3 bucket name"));
                }
                if s.region.is_empty() || !s.region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    return Err(Error::bad_request("region is not a valid region name"));
                }
                if s.access_key_id.is_empty() || s.secret_access_key.as_deref().unwrap_or("").is_empty() {
                    return Err(Error::bad_request("access_key_id and secret_access_key are required"));
                }
                url(&s3::object_url(s, "key")?, "endpoint")
            }
        }
    }

    /// The requests that deliver a batch (usually one; Datadog splits at its
    /// payload limit).
    pub fn requests(&self, batch: &Batch<'_>) -> Result<Vec<http::Request<Vec<u8>>>> {
        match self {
            Sink::Http(s) => http_sink::requests(s, batch),
            Sink::Webhook(s) => webhook::requests(s, batch),
            Sink::Datadog(s) => datadog::requests(s, batch),
            Sink::Splunk(s) => splunk::requests(s, batch),
            Sink::S3(s) => s3::requests(s, batch),
        }
    }
}

/// `[e1,e2,...]` from stored event JSON, without parsing it again.
fn json_array(events: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(events.iter().map(|e| e.len() + 1).sum::<usize>() + 2);
    out.push(b'[');
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(e.as_bytes());
    }
    out.push(b']');
    out
}

/// One event per line.
fn json_lines(events: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(events.iter().map(|e| e.len() + 1).sum());
    for e in events {
        out.extend_from_slice(e.as_bytes());
        out.push(b'\n');
    }
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 4), flate2::Compression::fast());
    enc.write_all(data).expect("writing to memory cannot fail");
    enc.finish().expect("writing to memory cannot fail")
}

fn build(method: &str, url: &str, headers: &[(&str, String)], body: Vec<u8>) -> Result<http::Request<Vec<u8>>> {
    let mut b = http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, v);
    }
    b.body(body).map_err(|e| Error::bad_request(format!("the sink's request cannot be built: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_keep_the_stored_json() {
        let events = vec![r#"{"log_id":"a"}"#.to_string(), r#"{"log_id":"b"}"#.to_string()];
        let arr: serde_json::Value = serde_json::from_slice(&json_array(&events)).unwrap();
        assert_eq!(arr[1]["log_id"], "b");
        assert_eq!(json_lines(&events), b"{\"log_id\":\"a\"}\n{\"log_id\":\"b\"}\n");
        let zipped = gzip(b"hello");
        let mut d = flate2::read::GzDecoder::new(&zipped[..]);
        let mut s = String::new();
        std::io::Read::read_to_string(&mut d, &mut s).unwrap();
        assert_eq!(s, "hello");
    }
}
