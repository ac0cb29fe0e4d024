//! Response builders shared by every surface.

use http::{Response, StatusCode};

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

/// JSON that may be cached by clients and edges for `max_age` seconds.
pub fn json_cached(value: &serde_json::Value, max_age: u32) -> HttpResponse {
    base(StatusCode::OK, "application/json")
        .header("cache-control", format!("public, max-age={max_age}"))
        .header("access-control-allow-origin", "*")
        .body(value.to_string().into_bytes())
        .expect("static headers")
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
