//! Datadog's logs intake API v2 (`POST /api/v2/logs` with `DD-API-KEY`):
//! each event becomes a log entry with `ddsource`, `ddtags`, `hostname`,
//! `service` and `message`, its fields kept as attributes. Requests stay
//! within the documented limits: at most 1,000 entries and 5 MB
//! (uncompressed) per request, 1 MB per entry.

use super::{build, Batch, DatadogSink};
use crate::error::{Error, Result};

pub const SITES: [&str; 6] =
    ["datadoghq.com", "us3.datadoghq.com", "us5.datadoghq.com", "datadoghq.eu", "ap1.datadoghq.com", "ddog-gov.com"];
pub const MAX_ENTRIES: usize = 1000;
pub const MAX_PAYLOAD_BYTES: usize = 5 * 1024 * 1024;
pub const MAX_ENTRY_BYTES: usize = 1024 * 1024;

pub fn default_site() -> String {
    SITES[0].into()
}
pub fn default_service() -> String {
    "tessera".into()
}
pub fn default_source() -> String {
    "tessera".into()
}

/// The intake URL of a site (Datadog's "Send logs" endpoint per site).
pub fn intake_url(site: &str) -> String {
    format!("https://http-intake.logs.{site}/api/v2/logs")
}

fn entry(s: &DatadogSink, raw: &str) -> Result<Vec<u8>> {
    let mut v: serde_json::Value =
        serde_json::from_str(raw).map_err(|e| Error::server(format!("stored event: {e}")))?;
    let obj = v.as_object_mut().ok_or_else(|| Error::server("stored event is not an object"))?;
    let hostname = obj.get("hostname").and_then(|h| h.as_str()).unwrap_or("tessera").to_string();
    let message = obj.get("description").and_then(|d| d.as_str()).unwrap_or_default().to_string();
    obj.insert("ddsource".into(), s.source.clone().into());
    obj.insert("service".into(), s.service.clone().into());
    obj.insert("hostname".into(), hostname.into());
    obj.insert("message".into(), message.into());
    if let Some(t) = &s.tags {
        obj.insert("ddtags".into(), t.clone().into());
    }
    let mut bytes = serde_json::to_vec(&v).map_err(|e| Error::server(e.to_string()))?;
    if bytes.len() > MAX_ENTRY_BYTES {
        // Datadog truncates an entry past 1 MB; drop the details instead so
        // what arrives is still valid JSON with its log_id.
        v["details"] = serde_json::json!({ "truncated": true });
        bytes = serde_json::to_vec(&v).map_err(|e| Error::server(e.to_string()))?;
    }
    Ok(bytes)
}

pub(super) fn requests(s: &DatadogSink, b: &Batch<'_>) -> Result<Vec<http::Request<Vec<u8>>>> {
    let key = s.api_key.clone().ok_or_else(|| Error::server("datadog stream without its API key"))?;
    let url = s.url.clone().unwrap_or_else(|| intake_url(&s.site));
    let headers = [("content-type", "application/json".to_string()), ("dd-api-key", key)];
    let mut out = Vec::new();
    let mut body: Vec<u8> = vec![b'['];
    let mut count = 0;
    for raw in b.events {
        let e = entry(s, raw)?;
        if count > 0 && (count == MAX_ENTRIES || body.len() + e.len() + 2 > MAX_PAYLOAD_BYTES) {
            body.push(b']');
            out.push(build("POST", &url, &headers, std::mem::replace(&mut body, vec![b'[']))?);
            count = 0;
        }
        if count > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&e);
        count += 1;
    }
    if count > 0 {
        body.push(b']');
        out.push(build("POST", &url, &headers, body)?);
    }
    Ok(out)
}
