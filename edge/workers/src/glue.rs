//! The request and the response cross between JavaScript and Wasm in one
//! call each. Going through workers-rs's `Request` and `Response` costs a
//! call into JavaScript per header (an iterator step, an array, two
//! strings), per `Headers.append`, and several promise hops to read a body
//! as a stream: on the token endpoint that was about a tenth of the
//! isolate's time (`bench/profile-token.mjs`). Here the head comes over as
//! one string and the response goes back as one call.
//!
//! A response the core marks the same for every GET of its URL is kept here
//! too, for `entry.mjs` to answer from JavaScript (see
//! `tessera_core::cache::ResponseCacheable`).
//!
//! Header names and values cannot hold a line feed (RFC 9110 §5.5, and the
//! Fetch standard rejects them), so `\n` separates the fields.

use tessera_core::cache::{generation, ResponseCacheable};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
// Responses the core marked the same for every GET of their URL (discovery,
// the JWKS), kept by URL; edge/workers/entry.mjs answers from here without
// entering the module. Dropped whenever the core forgot any cached entry
// (its generation moved), and each after a short time.
const responses = { generation: 0, entries: new Map() };
const MAX_ENTRIES = 256;

function lists(header, etag) {
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || (tag.startsWith('W/') ? tag.slice(2) : tag) === etag;
  });
}

// The kept answer to `req`, or undefined.
globalThis[Symbol.for('tessera.cachedResponse')] = (req) => {
  if (req.method !== 'GET') return undefined;
  const hit = responses.entries.get(req.url);
  if (hit === undefined) return undefined;
  if (Date.now() >= hit.expires) {
    responses.entries.delete(req.url);
    return undefined;
  }
  // As the core does: 304 and no body when If-None-Match names the ETag.
  const inm = req.headers.get('if-none-match');
  if (inm !== null && hit.etag !== null && lists(inm, hit.etag)) {
    return new Response(null, { status: 304, headers: hit.headers });
  }
  return new Response(hit.body, { status: 200, headers: hit.headers });
};

export function tessera_request_head(req) {
  let head = req.method + '\n' + req.url + '\n';
  for (const [name, value] of req.headers) head += name + '\n' + value + '\n';
  return head;
}
export function tessera_request_bytes(req) {
  return req.arrayBuffer().then((b) => new Uint8Array(b));
}
// The response's headers: a record (name to value), which the Response
// constructor converts in about half the time of an array of pairs, unless a
// name comes twice (Set-Cookie), which only pairs can carry.
function headersOf(fields) {
  const record = Object.create(null);
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] in record) {
      const pairs = [];
      for (let j = 0; j + 1 < fields.length; j += 2) pairs.push([fields[j], fields[j + 1]]);
      return pairs;
    }
    record[fields[i]] = fields[i + 1];
  }
  return record;
}

export function tessera_response(status, head, body, key, ttl, started, generation) {
  const headers = headersOf(head.split('\n'));
  // The body is copied out of the module's memory, which the next call
  // reuses.
  const bytes = body.length ? body.slice() : null;
  if (generation !== responses.generation) {
    responses.entries.clear();
    responses.generation = generation;
  }
  // Kept only if nothing was forgotten while the request ran: it may have
  // been built from what was forgotten. Only the core's cacheable responses
  // come here with a key, and they carry no name twice.
  if (key !== '' && started === generation && !Array.isArray(headers)) {
    if (responses.entries.size >= MAX_ENTRIES) responses.entries.clear();
    // As a Headers object: a response copies one faster than it converts
    // a record.
    const etag = headers.etag ?? null;
    responses.entries.set(key, { headers: new Headers(headers), body: bytes, etag, expires: Date.now() + ttl });
  }
  // A null-body status (204, 304) must not carry even an empty body.
  return new Response(bytes, { status, headers });
}
"#)]
extern "C" {
    /// `METHOD\nURL\nname\nvalue\n...`
    fn tessera_request_head(req: &web_sys::Request) -> String;
    /// The whole body (for one whose declared length is within the limit).
    fn tessera_request_bytes(req: &web_sys::Request) -> js_sys::Promise;
    fn tessera_response(
        status: u16,
        head: &str,
        body: &[u8],
        key: &str,
        ttl: u32,
        started: f64,
        generation: f64,
    ) -> web_sys::Response;
}

/// The request's method, URL and headers as they came.
pub struct Head {
    text: String,
}

impl Head {
    pub fn of(req: &web_sys::Request) -> Head {
        Head { text: tessera_request_head(req) }
    }

    pub fn method(&self) -> &str {
        self.text.split('\n').next().unwrap_or("")
    }

    pub fn url(&self) -> &str {
        self.text.split('\n').nth(1).unwrap_or("")
    }

    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut fields = self.text.split('\n').skip(2);
        std::iter::from_fn(move || Some((fields.next()?, fields.next()?)))
    }
}

/// The whole body, read in one promise.
pub async fn body(req: &web_sys::Request) -> Result<Vec<u8>, JsValue> {
    let bytes = wasm_bindgen_futures::JsFuture::from(tessera_request_bytes(req)).await?;
    Ok(js_sys::Uint8Array::from(bytes).to_vec())
}

/// The response for JavaScript. `url` and `started` (the core's cache
/// generation when the request came in) let the entry keep a response the
/// core marked [`ResponseCacheable`].
pub fn response(resp: http::Response<Vec<u8>>, url: &str, started: u64) -> web_sys::Response {
    let (parts, body) = resp.into_parts();
    let (key, ttl) = match parts.extensions.get::<ResponseCacheable>() {
        Some(c) => (url, c.ttl_ms),
        None => ("", 0),
    };
    let mut head = String::with_capacity(parts.headers.len() * 32);
    for (name, value) in parts.headers.iter() {
        if let Ok(value) = value.to_str() {
            head.push_str(name.as_str());
            head.push('\n');
            head.push_str(value);
            head.push('\n');
        }
    }
    tessera_response(parts.status.as_u16(), &head, &body, key, ttl, started as f64, generation() as f64)
}

/// A bare 500, for an error of the adapter itself.
pub fn internal_error() -> web_sys::Response {
    tessera_response(
        500,
        "content-type\ntext/plain;charset=UTF-8\n",
        b"INTERNAL SERVER ERROR",
        "",
        0,
        0.0,
        generation() as f64,
    )
}
