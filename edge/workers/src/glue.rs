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

use std::cell::RefCell;

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
// Bodies edge/workers/entry.mjs read before entering the module, by request.
const readBodies = (globalThis[Symbol.for('tessera.readBodies')] = new WeakMap());
// The request's body read ahead, taken once; undefined if there is none.
export function tessera_request_body(req) {
  const bytes = readBodies.get(req);
  if (bytes !== undefined) readBodies.delete(req);
  return bytes;
}
export function tessera_request_bytes(req) {
  return req.arrayBuffer().then((b) => new Uint8Array(b));
}
// Response heads by the id the module gave them (`Heads` in glue.rs), as
// Headers objects: the module sends a head's text only the first time, and
// a Response copies a Headers object faster than it converts a record or
// pairs (no name or value to validate again). Most responses share a handful
// of heads (the token's, a JSON error's, the health check's).
const heads = [];

export function tessera_response(req, status, id, head, body, cacheable, ttl, started, generation) {
  let headers = id === undefined ? undefined : heads[id];
  if (head !== undefined) {
    // Cleared first: a head that fails to build leaves no older one under
    // its id.
    if (id !== undefined) heads[id] = undefined;
    const fields = head.split('\n');
    const pairs = [];
    for (let i = 0; i + 1 < fields.length; i += 2) pairs.push([fields[i], fields[i + 1]]);
    headers = new Headers(pairs);
    if (id !== undefined) heads[id] = headers;
  }
  if (headers === undefined) throw new Error(`tessera: no response head under id ${id}`);
  // The body is copied out of the module's memory, which the next call
  // reuses.
  const bytes = body.length ? body.slice() : null;
  if (generation !== responses.generation) {
    responses.entries.clear();
    responses.generation = generation;
  }
  // Kept, by the request's URL, only if nothing was forgotten while the
  // request ran: it may have been built from what was forgotten.
  if (cacheable && started === generation) {
    if (responses.entries.size >= MAX_ENTRIES) responses.entries.clear();
    responses.entries.set(req.url, { headers, body: bytes, etag: headers.get('etag'), expires: Date.now() + ttl });
  }
  // A null-body status (204, 304) must not carry even an empty body.
  return new Response(bytes, { status, headers });
}
"#)]
extern "C" {
    /// The request's method, URL and headers as they came,
    /// `METHOD\nURL\nname\nvalue\n...`, as the core's `Request::from_head`
    /// reads them.
    pub fn tessera_request_head(req: &web_sys::Request) -> String;
    /// The body entry.mjs read ahead, if it did.
    fn tessera_request_body(req: &web_sys::Request) -> Option<js_sys::Uint8Array>;
    /// The whole body (for one whose declared length is within the limit).
    fn tessera_request_bytes(req: &web_sys::Request) -> js_sys::Promise;
    fn tessera_response(
        req: &web_sys::Request,
        status: u16,
        id: Option<u32>,
        head: Option<&str>,
        body: &[u8],
        cacheable: bool,
        ttl: u32,
        started: f64,
        generation: f64,
    ) -> web_sys::Response;
}

/// The whole body: the one entry.mjs read before entering the module (a
/// body within `MAX_BODY_BYTES`, such as a token request's form), so that
/// such a request does not wait here on a promise of its own, with the
/// closures, wake-up and executor task that costs; otherwise read in one
/// promise.
pub async fn body(req: &web_sys::Request) -> Result<Vec<u8>, JsValue> {
    if let Some(bytes) = tessera_request_body(req) {
        return Ok(bytes.to_vec());
    }
    let bytes = wasm_bindgen_futures::JsFuture::from(tessera_request_bytes(req)).await?;
    Ok(js_sys::Uint8Array::from(bytes).to_vec())
}

/// The response for JavaScript. `req` (whose URL is the key) and `started`
/// (the core's cache generation when the request came in) let the entry
/// keep a response the core marked [`ResponseCacheable`].
pub fn response(resp: http::Response<Vec<u8>>, req: &web_sys::Request, started: u64) -> web_sys::Response {
    let (parts, body) = resp.into_parts();
    let (cacheable, ttl) = match parts.extensions.get::<ResponseCacheable>() {
        Some(c) => (true, c.ttl_ms),
        None => (false, 0),
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
    send(req, parts.status.as_u16(), head, &body, cacheable, ttl, started)
}

/// A bare 500, for an error of the adapter itself.
pub fn internal_error(req: &web_sys::Request) -> web_sys::Response {
    let started = generation();
    send(req, 500, "content-type\ntext/plain;charset=UTF-8\n".into(), b"INTERNAL SERVER ERROR", false, 0, started)
}

fn send(
    req: &web_sys::Request,
    status: u16,
    head: String,
    body: &[u8],
    cacheable: bool,
    ttl: u32,
    started: u64,
) -> web_sys::Response {
    let (id, text) = HEADS.with(|h| h.borrow_mut().id(head));
    tessera_response(req, status, id, text.as_deref(), body, cacheable, ttl, started as f64, generation() as f64)
}

thread_local! {
    static HEADS: RefCell<Heads> = RefCell::default();
}

/// The response heads this isolate has sent, by id: JavaScript keeps each
/// as a `Headers` object, so a head seen before crosses as a number, not as
/// text to decode, split and validate again. At most [`Heads::MAX`] are
/// kept; past that the ids start over, and each is sent with its text again
/// before it is used. A head with a `Set-Cookie` or a `Location` is never
/// kept: those carry one response's secrets (a session, an authorization
/// code), which must not outlive it, and they do not repeat, so keeping
/// them would only push out the heads that do.
///
/// Kept as a list, found by comparing: an isolate sends a handful of
/// distinct heads, mostly of different lengths, so finding one costs a few
/// length checks and one comparison, less than hashing the whole text.
#[derive(Default)]
struct Heads {
    kept: Vec<String>,
}

impl Heads {
    const MAX: usize = 64;

    /// The head's id (none for a head not kept), and its text if
    /// JavaScript does not hold it under that id yet.
    fn id(&mut self, head: String) -> (Option<u32>, Option<String>) {
        if head.split('\n').step_by(2).any(|name| name == "set-cookie" || name == "location") {
            return (None, Some(head));
        }
        if let Some(id) = self.kept.iter().position(|k| *k == head) {
            return (Some(id as u32), None);
        }
        if self.kept.len() >= Self::MAX {
            self.kept.clear();
        }
        self.kept.push(head.clone());
        (Some(self.kept.len() as u32 - 1), Some(head))
    }
}

#[cfg(test)]
mod tests {
    use super::Heads;

    #[test]
    fn a_head_is_sent_once_per_id_and_again_after_the_ids_start_over() {
        let mut heads = Heads::default();
        let json = "content-type\napplication/json\n".to_string();
        assert_eq!(heads.id(json.clone()), (Some(0), Some(json.clone())));
        assert_eq!(heads.id(json.clone()), (Some(0), None));
        let text = "content-type\ntext/plain\n".to_string();
        assert_eq!(heads.id(text.clone()), (Some(1), Some(text.clone())));
        assert_eq!(heads.id(json.clone()), (Some(0), None));
        for i in 2..Heads::MAX {
            let (id, sent) = heads.id(format!("etag\n\"{i}\"\n"));
            assert_eq!((id, sent.is_some()), (Some(i as u32), true));
        }
        // Full: a head still kept goes on without its text; a new one makes
        // the ids start over, and every head asked for next goes with its
        // text under an id JavaScript will overwrite.
        assert_eq!(heads.id(text.clone()), (Some(1), None));
        let other = "etag\n\"new\"\n".to_string();
        assert_eq!(heads.id(other.clone()), (Some(0), Some(other)));
        assert_eq!(heads.id(json.clone()), (Some(1), Some(json)));
        assert_eq!(heads.id(text.clone()), (Some(2), Some(text.clone())));
        assert_eq!(heads.id(text), (Some(2), None));
    }

    #[test]
    fn a_head_with_a_cookie_or_a_redirect_is_sent_whole_every_time_and_never_kept() {
        let mut heads = Heads::default();
        for head in ["content-type\ntext/html\nset-cookie\nsid=a\n", "location\nhttps://app.test/cb?code=c\n"] {
            assert_eq!(heads.id(head.to_string()), (None, Some(head.to_string())));
            assert_eq!(heads.id(head.to_string()), (None, Some(head.to_string())));
        }
        assert!(heads.kept.is_empty());
        // A value that merely mentions one is kept as any other.
        let json = "content-type\napplication/json\nx-note\nlocation\n".to_string();
        assert_eq!(heads.id(json.clone()), (Some(0), Some(json.clone())));
        assert_eq!(heads.id(json), (Some(0), None));
    }
}
