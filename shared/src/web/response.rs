//! Response builders shared by every surface.

use http::{Response, StatusCode};

use crate::cache::{PrebuiltJson, ResponseCacheable, RESPONSE_CACHE_MS};

pub type HttpResponse = Response<Vec<u8>>;

fn base(status: StatusCode, content_type: &str) -> http::response::Builder {
    Response::builder().status(status).header("content-type", content_type).header("x-content-type-options", "nosniff")
}

pub fn json(status: StatusCode, value: &serde_json::Value) -> HttpResponse {
    base(status, "application/json")
        .header("cache-control", "no-store")
        .body(value.to_string().into_bytes())
        .expect("static headers")
}

/// A 200 JSON response of the OAuth endpoints, which must never be cached
/// (RFC 6749 §5.1): tokens, introspection, userinfo, and (with their own
/// status) OAuth errors. Built in place rather than through
/// `Response::builder()`, which parses each name and moves the whole head
/// at every step: on every token response that was about 2 µs in the
/// Worker (bench/profile-token.mjs).
pub fn no_store_json(body: Vec<u8>) -> HttpResponse {
    use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
    let mut resp = Response::new(body);
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

/// JSON that may be cached by clients and edges for `max_age` seconds,
/// with a strong ETag (a digest of the bytes) so that a cache can
/// revalidate: a request whose `If-None-Match` names it gets 304 and no body
/// (RFC 9110 §13.1.2, §15.4.5).
pub fn json_cached(if_none_match: Option<&str>, value: &serde_json::Value, max_age: u32) -> HttpResponse {
    prebuilt_json(if_none_match, &PrebuiltJson::new(value), max_age)
}

/// [`json_cached`] for a document serialised once and kept (see
/// [`PrebuiltJson`]): the request copies the bytes and nothing more.
pub fn prebuilt_json(if_none_match: Option<&str>, doc: &PrebuiltJson, max_age: u32) -> HttpResponse {
    let fresh = if_none_match.is_some_and(|h| none_match_lists(h, &doc.etag));
    let status = if fresh { StatusCode::NOT_MODIFIED } else { StatusCode::OK };
    base(status, "application/json")
        .header("cache-control", format!("public, max-age={max_age}"))
        .header("access-control-allow-origin", "*")
        .header("etag", &doc.etag)
        .body(if fresh { Vec::new() } else { doc.body.clone() })
        .expect("static headers")
}

/// Marks a 200 as the same for every GET of its URL, for a host to keep
/// (see [`ResponseCacheable`]). Only for a public document that depends on
/// the URL alone: no credentials, cookies or other request headers.
pub fn same_for_every_get(mut r: HttpResponse) -> HttpResponse {
    if r.status() == StatusCode::OK {
        r.extensions_mut().insert(ResponseCacheable { ttl_ms: RESPONSE_CACHE_MS });
    }
    r
}

/// Whether an `If-None-Match` value lists `etag`: `*`, or any listed tag
/// by the weak comparison this header uses (a `W/` prefix is ignored).
fn none_match_lists(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

pub fn no_content() -> HttpResponse {
    Response::builder().status(StatusCode::NO_CONTENT).body(Vec::new()).expect("static")
}

pub fn text(status: StatusCode, body: &str) -> HttpResponse {
    base(status, "text/plain; charset=utf-8").body(body.as_bytes().to_vec()).expect("static headers")
}

/// A hosted page. Pages are never framed (clickjacking) nor cached, and a
/// strict CSP allows no script at all.
pub fn html(status: StatusCode, page: String) -> HttpResponse {
    base(status, "text/html; charset=utf-8")
        .header("cache-control", "no-store")
        .header("x-frame-options", "DENY")
        .header(
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
        .header("referrer-policy", "no-referrer")
        .body(page.into_bytes())
        .expect("static headers")
}

/// 303 See Other: after a form POST the browser follows with a GET.
pub fn see_other(location: &str) -> HttpResponse {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header("location", location)
        .header("cache-control", "no-store")
        .body(Vec::new())
        .expect("location is a path we built")
}

pub fn with_cookies(mut resp: HttpResponse, cookies: &[String]) -> HttpResponse {
    for c in cookies {
        if let Ok(v) = http::HeaderValue::from_str(c) {
            resp.headers_mut().append(http::header::SET_COOKIE, v);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_document_revalidates_by_its_etag() {
        let doc = serde_json::json!({ "keys": [] });
        let first = json_cached(None, &doc, 300);
        assert_eq!(first.status(), StatusCode::OK);
        let etag = first.headers()["etag"].to_str().unwrap().to_string();
        assert!(etag.starts_with('"') && etag.ends_with('"') && etag.len() == 24, "{etag}");
        for header in [etag.clone(), format!("W/{etag}"), format!("\"other\", {etag}"), "*".into()] {
            let r = json_cached(Some(&header), &doc, 300);
            assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{header}");
            assert!(r.body().is_empty());
            assert_eq!(r.headers()["etag"], etag.as_str());
            assert_eq!(r.headers()["cache-control"], "public, max-age=300");
        }
        // Another document, or a stale tag: the whole body again.
        let changed = json_cached(Some(&etag), &serde_json::json!({ "keys": [1] }), 300);
        assert_eq!(changed.status(), StatusCode::OK);
        assert_ne!(changed.headers()["etag"], etag.as_str());
        assert_eq!(json_cached(Some("\"stale\""), &doc, 300).status(), StatusCode::OK);
    }

    #[test]
    fn only_a_whole_public_document_is_marked_the_same_for_every_get() {
        let doc = serde_json::json!({ "keys": [] });
        let cacheable = |r: &HttpResponse| r.extensions().get::<ResponseCacheable>().map(|c| c.ttl_ms);
        assert_eq!(cacheable(&json_cached(None, &doc, 300)), None, "not unless the handler says so");
        let first = same_for_every_get(json_cached(None, &doc, 300));
        assert_eq!(cacheable(&first), Some(RESPONSE_CACHE_MS));
        let etag = first.headers()["etag"].to_str().unwrap().to_string();
        assert_eq!(cacheable(&same_for_every_get(json_cached(Some(&etag), &doc, 300))), None, "a 304 is not kept");
    }
}
