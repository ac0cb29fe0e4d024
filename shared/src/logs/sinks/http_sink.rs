//! The plain HTTP sink: a JSON array or NDJSON POST, with the operator's
//! authorization and extra headers, optionally gzip-compressed.

use super::{build, gzip, json_array, json_lines, Batch, ContentFormat, HttpSink};
use crate::error::Result;

pub(super) fn requests(s: &HttpSink, b: &Batch<'_>) -> Result<Vec<http::Request<Vec<u8>>>> {
    let (body, content_type) = match s.content_format {
        ContentFormat::JsonArray => (json_array(b.events), "application/json"),
        ContentFormat::JsonLines => (json_lines(b.events), "application/x-ndjson"),
    };
    let mut headers: Vec<(&str, String)> = vec![("content-type", content_type.into())];
    headers.push(("tessera-batch-id", b.id.to_string()));
    if let Some(a) = &s.authorization {
        headers.push(("authorization", a.clone()));
    }
    for (name, value) in s.headers.iter().flatten() {
        headers.push((name.as_str(), value.clone()));
    }
    let body = if s.gzip {
        headers.push(("content-encoding", "gzip".into()));
        gzip(&body)
    } else {
        body
    };
    Ok(vec![build("POST", &s.url, &headers, body)?])
}
