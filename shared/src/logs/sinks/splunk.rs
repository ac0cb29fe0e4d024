//! Splunk's HTTP Event Collector: `POST /services/collector/event` with
//! `Authorization: Splunk <token>`, a body of concatenated event envelopes
//! (`time` in epoch seconds, `host`, `source`, `sourcetype`, `index`,
//! `event`), one batch per request.

use serde::Serialize;

use super::{build, Batch, SplunkSink};
use crate::error::{Error, Result};

pub fn default_source() -> String {
    "tessera".into()
}
pub fn default_sourcetype() -> String {
    "tessera:log".into()
}

#[derive(Serialize)]
struct Envelope<'a> {
    time: f64,
    host: &'a str,
    source: &'a str,
    sourcetype: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<&'a str>,
    event: &'a serde_json::value::RawValue,
}

#[derive(serde::Deserialize)]
struct Fields {
    date: String,
    #[serde(default)]
    hostname: Option<String>,
}

pub(super) fn requests(s: &SplunkSink, b: &Batch<'_>) -> Result<Vec<http::Request<Vec<u8>>>> {
    let token = s.token.as_deref().ok_or_else(|| Error::server("splunk stream without its token"))?;
    let mut body = Vec::new();
    for raw in b.events {
        let fields: Fields = serde_json::from_str(raw).map_err(|e| Error::server(format!("stored event: {e}")))?;
        let ms = chrono::DateTime::parse_from_rfc3339(&fields.date).map_or(b.now_ms, |d| d.timestamp_millis());
        let event: &serde_json::value::RawValue =
            serde_json::from_str(raw).map_err(|e| Error::server(format!("stored event: {e}")))?;
        let envelope = Envelope {
            time: ms as f64 / 1000.0,
            host: s.host.as_deref().or(fields.hostname.as_deref()).unwrap_or("tessera"),
            source: &s.source,
            sourcetype: &s.sourcetype,
            index: s.index.as_deref(),
            event,
        };
        serde_json::to_writer(&mut body, &envelope).map_err(|e| Error::server(e.to_string()))?;
        body.push(b'\n');
    }
    let url = format!("{}/services/collector/event", s.url.trim_end_matches('/'));
    let headers = [("content-type", "application/json".to_string()), ("authorization", format!("Splunk {token}"))];
    Ok(vec![build("POST", &url, &headers, body)?])
}
