//! The parsed request every handler reads, and the body parsers with the
//! limits and checks every surface shares.

use http::Method;
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind, Result};

/// Bodies above this are refused with 413 before any parsing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The management API's actions routes take an action's code: a JavaScript
/// source of up to 100 KiB (escaped in JSON) or a component of up to 1 MiB
/// (in base64).
pub const MAX_ACTIONS_BODY_BYTES: usize = 1536 * 1024;
/// SCIM bodies: a group's full member list (up to 10,000 ids) in one PUT.
pub const MAX_SCIM_BODY_BYTES: usize = 1024 * 1024;

/// The body limit of a path: [`MAX_BODY_BYTES`] but for the actions routes.
pub fn body_limit(path: &str) -> usize {
    let path = path.split('?').next().unwrap_or(path);
    if path.ends_with("/api/v1/actions") || path.contains("/api/v1/actions/") {
        MAX_ACTIONS_BODY_BYTES
    } else if path.contains("/scim/v2/") {
        MAX_SCIM_BODY_BYTES
    } else {
        MAX_BODY_BYTES
    }
}

/// Whether a declared `Content-Length` is over the limit: such a body is
/// refused without reading a byte of it.
pub fn declared_too_large(content_length: Option<&str>, limit: usize) -> bool {
    content_length.and_then(|v| v.trim().parse::<u64>().ok()).is_some_and(|n| n > limit as u64)
}

/// Reads a body stream, stopping one chunk past `limit`: a body without a
/// declared length cannot fill the host's memory either, and the router
/// answers 413 for what was read. A failing stream ends the body.
pub async fn read_capped<S, E>(stream: S, limit: usize) -> Vec<u8>
where
    S: futures_util::Stream<Item = std::result::Result<Vec<u8>, E>>,
{
    use futures_util::StreamExt;
    let mut stream = std::pin::pin!(stream);
    let mut body = Vec::new();
    while let Some(Ok(chunk)) = stream.next().await {
        body.extend_from_slice(&chunk);
        if body.len() > limit {
            break;
        }
    }
    body
}

/// The client's address, set by the host adapter from a header the platform
/// guarantees (Workers: `CF-Connecting-IP`), never from a client-controlled
/// header such as `X-Forwarded-For`.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

pub struct Request {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Headers,
    pub body: Vec<u8>,
    pub client_ip: String,
    /// The origin this request is served under (`scheme://host[:port]`):
    /// the deployment's `PUBLIC_URL`, a tenant's custom domain, or without
    /// `PUBLIC_URL` the loopback address used. Set by the router from
    /// [`crate::web::origin`], never taken from the `Host` header alone; empty
    /// until then.
    pub origin: String,
    /// `host[:port]` as the client sent it (URL authority or `Host`).
    pub authority: String,
    /// The host name the client used (without port), for custom domains.
    pub host_name: String,
}

impl Request {
    pub fn from_http(req: http::Request<Vec<u8>>) -> Self {
        let (parts, body) = req.into_parts();
        let client_ip = parts.extensions.get::<ClientIp>().map(|c| c.0.clone()).unwrap_or_else(|| "unknown".into());
        let headers = Headers::from_map(&parts.headers);
        let target =
            Target::new(parts.uri.authority().map(|a| a.as_str()), parts.uri.path(), parts.uri.query(), &headers);
        target.into_request(parts.method, headers, body, client_ip)
    }

    /// The request from its head as one text, `METHOD\nURL\nname\nvalue\n`
    /// and so on for every field (header names and values cannot hold a line
    /// feed: RFC 9110 §5.5), with no body and an unknown client address. The
    /// Workers host gets the head out of JavaScript so, in one call, and the
    /// text becomes the request's [`Headers`] as it is: no map to build and
    /// no copy of each field. `None` if the method is not a token (RFC 9110
    /// §9.1) or a line is missing.
    pub fn from_head(head: String) -> Option<Self> {
        let method_end = head.find('\n')?;
        let url_end = method_end + 1 + head[method_end + 1..].find('\n')?;
        let method = Method::from_bytes(&head.as_bytes()[..method_end]).ok()?;
        let headers = Headers::from_text(head, url_end + 1);
        let (authority, path, query) = split_url(&headers.text[method_end + 1..url_end]);
        let target = Target::new(authority, path, query, &headers);
        Some(target.into_request(method, headers, Vec::new(), "unknown".into()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The request as actions see it (`event.request`). The country is
    /// Cloudflare's `CF-IPCountry`, which the edge sets; on other hosts it is
    /// whatever a proxy in front put there.
    pub fn action_info(&self) -> crate::usecases::actions::RequestInfo<'_> {
        crate::usecases::actions::RequestInfo {
            ip: &self.client_ip,
            user_agent: self.header("user-agent"),
            hostname: &self.host_name,
            method: self.method.as_str(),
            country: self.header("cf-ipcountry"),
        }
    }

    /// The page a list request asks for (`?limit=`, `?cursor=`).
    pub fn page(&self) -> Result<crate::pagination::Page> {
        crate::pagination::Page::from_query(self.query_param("limit"), self.query_param("cursor"))
    }

    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A query parameter that takes one value: given twice, it is refused
    /// rather than read as whichever comes first (the form rule of RFC 6749
    /// §3.1, applied to the query).
    pub fn single_query_param(&self, name: &str) -> Result<Option<&str>> {
        let mut values = self.query.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(Error::bad_request(format!("query parameter '{name}' is repeated")));
        }
        Ok(first)
    }

    /// The audit-log filters of the query (`type`, `category`, `severity`,
    /// `user_id`, `client_id`: an empty value is no filter; dates are RFC
    /// 3339, `since` inclusive, `until` exclusive). Each is given at most
    /// once.
    pub fn log_filter(&self) -> Result<crate::logs::ListFilter> {
        let q = |n: &str| -> Result<Option<String>> {
            Ok(self.single_query_param(n)?.filter(|v| !v.is_empty()).map(str::to_owned))
        };
        // A date given empty is not a date (the empty value means "no
        // filter" only for the enumerated filters above).
        let date = |n: &str| -> Result<Option<i64>> {
            self.single_query_param(n)?
                .map(|v| {
                    chrono::DateTime::parse_from_rfc3339(v).map(|d| d.timestamp_millis()).map_err(|_| {
                        Error::bad_request(format!("{n} must be an RFC 3339 date-time, like 2026-12-01T00:00:00Z"))
                    })
                })
                .transpose()
        };
        Ok(crate::logs::ListFilter {
            kind: q("type")?,
            category: q("category")?,
            min_severity: q("severity")?,
            user_id: q("user_id")?,
            client_id: q("client_id")?,
            since: date("since")?,
            until: date("until")?,
        })
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("cookie")
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }

    /// The bearer token of `Authorization: Bearer ...` (RFC 6750 §2.1).
    pub fn bearer(&self) -> Option<&str> {
        let v = self.header("authorization")?;
        let (scheme, token) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
    }

    fn media_type(&self) -> Option<String> {
        self.header("content-type").map(|ct| ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
    }

    /// An `application/x-www-form-urlencoded` body.
    pub fn form(&self) -> Result<Form> {
        if self.media_type().as_deref() != Some("application/x-www-form-urlencoded") {
            return Err(Error::new(
                ErrorKind::UnsupportedMediaType,
                "expected an application/x-www-form-urlencoded body",
            ));
        }
        Form::parse(&self.body)
    }

    /// An `application/json` body, a JSON object, decoded into `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        match self.media_type().as_deref() {
            Some("application/json") => {}
            Some(ct) if ct.ends_with("+json") => {}
            _ => return Err(Error::new(ErrorKind::UnsupportedMediaType, "expected an application/json body")),
        }
        // serde would also read a struct from an array of its fields in
        // order (`[null, null]`); every body here is an object.
        if self.body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(Error::bad_request("the body must be a JSON object"));
        }
        serde_json::from_slice(&self.body).map_err(|e| Error::bad_request(json_error_detail(&e)))
    }
}

/// A JSON error message safe to return: serde's "invalid type/value" messages
/// quote the offending value, which could be a password sent to the wrong
/// field, so those are reduced to their position.
fn json_error_detail(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    if msg.contains("invalid type") || msg.contains("invalid value") {
        format!("invalid JSON value at line {} column {}", e.line(), e.column())
    } else {
        format!("invalid JSON: {msg}")
    }
}

/// Where a request goes, owned: what [`Request`] keeps of its URL.
struct Target {
    authority: String,
    host_name: String,
    path: String,
    query: Vec<(String, String)>,
}

impl Target {
    /// The URL's authority, or without one (origin-form, RFC 9112 §3.2.1)
    /// the `Host` field's.
    fn new(authority: Option<&str>, path: &str, query: Option<&str>, headers: &Headers) -> Target {
        let authority = authority.or_else(|| headers.get("host")).unwrap_or("localhost").to_owned();
        Target {
            host_name: host_of(&authority).to_ascii_lowercase(),
            authority,
            path: if path.is_empty() { "/".into() } else { path.to_owned() },
            query: query.map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default(),
        }
    }

    fn into_request(self, method: Method, headers: Headers, body: Vec<u8>, client_ip: String) -> Request {
        Request {
            method,
            path: self.path,
            query: self.query,
            headers,
            body,
            client_ip,
            origin: String::new(),
            authority: self.authority,
            host_name: self.host_name,
        }
    }
}

/// A request's URL as (authority, path, query): absolute
/// (`scheme://authority/path?query`, as the Fetch standard gives it) or
/// origin-form (`/path?query`). A fragment is never part of the target
/// (RFC 9110 §7.1), so one is dropped.
fn split_url(url: &str) -> (Option<&str>, &str, Option<&str>) {
    let url = url.split_once('#').map_or(url, |(u, _)| u);
    let (authority, rest) = match url.split_once("://") {
        Some((scheme, rest)) if !scheme.is_empty() && !scheme.contains(['/', '?']) => {
            let end = rest.find(['/', '?']).unwrap_or(rest.len());
            (Some(&rest[..end]), &rest[end..])
        }
        _ => (None, url),
    };
    match rest.split_once('?') {
        Some((path, query)) => (authority, path, Some(query)),
        None => (authority, rest, None),
    }
}

/// A request's header fields as they came, each field on its own (a
/// repeated one included), names in lowercase as both `http` and the Fetch
/// standard give them. One text and the fields' places in it, not
/// `http::HeaderMap`: handlers look up a few fields by name, and a map cost
/// an allocation for each of the dozen or so fields a browser sends, and a
/// hash of each name, on every request.
#[derive(Debug, Clone, Default)]
pub struct Headers {
    text: String,
    /// Byte ranges in `text`: the name's start and end, the value's start
    /// and end.
    fields: Vec<[u32; 4]>,
}

impl Headers {
    /// From `name\nvalue\n...` in `text`, from byte `start` on.
    fn from_text(text: String, start: usize) -> Headers {
        let mut fields = Vec::with_capacity(16);
        let mut at = start;
        // A text over 4 GiB cannot come from a runtime's request head.
        while let Some(n) = text[at..].find('\n') {
            let name = at..at + n;
            let Some(v) = text[name.end + 1..].find('\n') else { break };
            let value = name.end + 1..name.end + 1 + v;
            fields.push([name.start as u32, name.end as u32, value.start as u32, value.end as u32]);
            at = value.end + 1;
        }
        Headers { text, fields }
    }

    fn from_map(map: &http::HeaderMap) -> Headers {
        let mut text = String::with_capacity(map.len() * 32);
        for (name, value) in map {
            text.push_str(name.as_str());
            text.push('\n');
            // A value of other bytes than text (which `HeaderValue` allows
            // but for line breaks) keeps its place, as the first field of its
            // name, and `get` finds it as none.
            text.push_str(&String::from_utf8_lossy(value.as_bytes()));
            text.push('\n');
        }
        Headers::from_text(text, 0)
    }

    /// The first field of that name (in any case), if its value is visible
    /// ASCII, spaces and tabs (as `http::HeaderValue::to_str`; RFC 9110 §5.5
    /// leaves other bytes opaque).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.named(name).next().filter(|v| is_text(v))
    }

    /// Every field of that name, in order, whose value is text as in [`Headers::get`].
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.named(name).filter(|v| is_text(v))
    }

    /// The values of the fields of that name, in order.
    fn named<'a: 'n, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + 'n {
        self.fields.iter().filter(move |f| self.at(f[0], f[1]).eq_ignore_ascii_case(name)).map(|f| self.at(f[2], f[3]))
    }

    fn at(&self, start: u32, end: u32) -> &str {
        &self.text[start as usize..end as usize]
    }
}

/// Visible ASCII, spaces and tabs: a field value `http::HeaderValue::to_str`
/// would read.
fn is_text(value: &str) -> bool {
    value.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
}

/// The host of `host[:port]`, IPv6 literals (`[::1]:8787`) included.
fn host_of(authority: &str) -> &str {
    match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && (!h.starts_with('[') || h.ends_with(']')) => h,
        _ => authority,
    }
}

pub use crate::types::is_loopback;

/// A parsed urlencoded form. A repeated field is refused (RFC 6749 §3.1:
/// "Request and response parameters MUST NOT be included more than once").
pub struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    pub fn parse(body: &[u8]) -> Result<Self> {
        if std::str::from_utf8(body).is_err() {
            return Err(Error::bad_request("form body is not valid UTF-8"));
        }
        let fields: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        // One pass with a set: a pairwise check is quadratic in the number
        // of fields, and these forms reach unauthenticated endpoints.
        let mut seen = std::collections::HashSet::with_capacity(fields.len());
        if let Some((k, _)) = fields.iter().find(|(k, _)| !seen.insert(k.as_str())) {
            return Err(Error::bad_request(format!("parameter '{k}' is repeated")));
        }
        Ok(Form { fields })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every field, in the order sent.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn require(&self, name: &str) -> Result<&str> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::bad_request(format!("missing required field '{name}'")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)], body: &str) -> Request {
        let mut b = http::Request::builder().method("POST").uri("http://127.0.0.1:8787/t/demo/login?x=1");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        Request::from_http(b.body(body.as_bytes().to_vec()).unwrap())
    }

    #[test]
    fn origin_and_query() {
        let r = req(&[], "");
        assert_eq!(r.authority, "127.0.0.1:8787");
        assert_eq!(r.host_name, "127.0.0.1");
        assert_eq!(r.origin, "", "the router decides the origin, not the request");
        assert_eq!(host_of("[::1]:8787"), "[::1]");
        assert_eq!(host_of("[::1]"), "[::1]");
        assert_eq!(host_of("login.example.com"), "login.example.com");
        assert_eq!(r.query_param("x"), Some("1"));
        assert_eq!(r.path, "/t/demo/login");
    }

    /// The head as the Workers glue sends it.
    fn head(method: &str, url: &str, fields: &[(&str, &str)]) -> String {
        let mut h = format!("{method}\n{url}\n");
        for (k, v) in fields {
            h.push_str(&format!("{k}\n{v}\n"));
        }
        h
    }

    #[test]
    fn a_request_read_from_its_head_is_the_one_read_from_http_types() {
        let fields = [
            ("host", "login.example.com"),
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", "a=1; sid=s1"),
            ("cf-connecting-ip", "203.0.113.7"),
            ("accept", ""),
        ];
        for url in [
            "https://Login.Example.com/t/demo/authorize?client_id=c&redirect_uri=https%3A%2F%2Fapp%2Fcb&x=a+b",
            "http://127.0.0.1:8787/healthz",
            "http://[::1]:8787/t/demo/oauth/token?",
            "http://127.0.0.1:8787",
            "http://h.example/a%20b/c?q=%E2%9C%93",
            "/t/demo/login?x=1",
        ] {
            let mut b = http::Request::builder().method("PATCH").uri(url);
            for (k, v) in fields {
                b = b.header(k, v);
            }
            let a = Request::from_http(b.body(Vec::new()).unwrap());
            let h = Request::from_head(head("PATCH", url, &fields)).expect(url);
            assert_eq!((&h.method, &h.path, &h.query), (&a.method, &a.path, &a.query), "{url}");
            assert_eq!((&h.authority, &h.host_name), (&a.authority, &a.host_name), "{url}");
            for (k, _) in fields {
                assert_eq!(h.header(k), a.header(k), "{url} {k}");
            }
            assert_eq!(h.cookie("sid"), a.cookie("sid"));
        }
        let r = Request::from_head(head("GET", "https://a.example/p#frag", &[])).unwrap();
        assert_eq!((r.path.as_str(), r.authority.as_str()), ("/p", "a.example"));
        // A method that is no token, or a head cut short, is no request.
        assert!(Request::from_head(head("GE T", "https://a.example/", &[])).is_none());
        assert!(Request::from_head("GET".into()).is_none());
        assert!(Request::from_head("GET\nhttps://a.example/".into()).is_none());
        // A method the core does not know is kept as it came (405, not GET).
        assert_eq!(Request::from_head(head("QUERY", "https://a.example/", &[])).unwrap().method.as_str(), "QUERY");
    }

    #[test]
    fn header_fields_are_found_by_name_in_any_case_first_one_first() {
        let h = Request::from_head(head(
            "GET",
            "https://a.example/",
            &[("x-one", "1"), ("cookie", "a=1"), ("x-one", "2"), ("cookie", "b=2; c=3"), ("x-bin", "caf\u{e9}")],
        ))
        .unwrap();
        assert_eq!(h.header("X-One"), Some("1"));
        assert_eq!(h.headers.get_all("x-one").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!((h.cookie("a"), h.cookie("c"), h.cookie("d")), (Some("1".into()), Some("3".into()), None));
        assert_eq!(h.header("x-two"), None);
        // Not visible ASCII: found as none, as `HeaderValue::to_str` reads it.
        assert_eq!(h.header("x-bin"), None);
        // A last field cut short is dropped, not read past the text's end.
        let cut = Request::from_head("GET\nhttps://a.example/\nx-a\n1\nx-b\n".into()).unwrap();
        assert_eq!((cut.header("x-a"), cut.header("x-b")), (Some("1"), None));
    }

    #[test]
    fn forms_refuse_repeats_and_wrong_type() {
        let r = req(&[("content-type", "application/x-www-form-urlencoded")], "a=1&a=2");
        assert_eq!(r.form().err().unwrap().kind, ErrorKind::InvalidRequest);
        let r = req(&[("content-type", "text/plain")], "a=1");
        assert_eq!(r.form().err().unwrap().kind, ErrorKind::UnsupportedMediaType);
        let r = req(&[("content-type", "application/x-www-form-urlencoded; charset=utf-8")], "a=1&b=");
        let f = r.form().unwrap();
        assert_eq!(f.get("a"), Some("1"));
        assert!(f.require("b").is_err());
        // A full-size body of distinct fields parses; a repeat at its end is found.
        let many: Vec<String> = (0..9_000).map(|i| format!("k{i}=")).collect();
        let body = many.join("&");
        assert!(body.len() < MAX_BODY_BYTES);
        assert_eq!(
            Form::parse(body.as_bytes()).ok().and_then(|f| f.get("k8999").map(str::to_owned)).as_deref(),
            Some("")
        );
        let repeated = format!("{body}&k0=x");
        assert!(Form::parse(repeated.as_bytes()).err().unwrap().detail.contains("'k0' is repeated"));
    }

    #[test]
    fn bodies_stop_at_the_limit() {
        // An endless upload: each chunk past the fifth would fail the test.
        let chunks = futures_util::stream::iter((0..).map(|i: u32| {
            assert!(i < 5, "read chunk {i}, past the limit");
            Ok::<_, ()>(vec![b'x'; 16 * 1024])
        }));
        let body = futures_util::FutureExt::now_or_never(read_capped(chunks, MAX_BODY_BYTES)).unwrap();
        assert!(body.len() > MAX_BODY_BYTES && body.len() <= MAX_BODY_BYTES + 16 * 1024);
        let small = futures_util::stream::iter([Ok::<_, ()>(b"a=1".to_vec()), Err(()), Ok(b"never".to_vec())]);
        assert_eq!(futures_util::FutureExt::now_or_never(read_capped(small, MAX_BODY_BYTES)).unwrap(), b"a=1");
        assert!(declared_too_large(Some("104857600"), MAX_BODY_BYTES));
        assert!(!declared_too_large(Some(" 65536 "), MAX_BODY_BYTES));
        assert!(!declared_too_large(Some("nonsense"), MAX_BODY_BYTES) && !declared_too_large(None, MAX_BODY_BYTES));
    }

    #[test]
    fn only_the_actions_routes_take_large_bodies() {
        assert_eq!(body_limit("/t/acme/api/v1/actions"), MAX_ACTIONS_BODY_BYTES);
        assert_eq!(body_limit("/t/acme/api/v1/actions/act_1?x=1"), MAX_ACTIONS_BODY_BYTES);
        assert_eq!(body_limit("/t/acme/api/v1/actionsX"), MAX_BODY_BYTES);
        assert_eq!(body_limit("/t/acme/api/v1/users"), MAX_BODY_BYTES);
        assert_eq!(body_limit("/t/acme/login"), MAX_BODY_BYTES);
    }

    #[test]
    fn json_errors_do_not_echo_values() {
        #[derive(serde::Deserialize, Debug)]
        struct T {
            #[allow(dead_code)]
            flag: bool,
        }
        let r = req(&[("content-type", "application/json")], r#"{"flag":"hunter2"}"#);
        let e = r.json::<T>().unwrap_err();
        assert!(!e.detail.contains("hunter2"), "{}", e.detail);
        // A struct read from an array of its fields is refused.
        let r = req(&[("content-type", "application/json")], " [true]");
        assert_eq!(r.json::<T>().unwrap_err().detail, "the body must be a JSON object");
    }

    #[test]
    fn cookies_and_bearer() {
        let r = req(&[("cookie", "a=1; tessera_session=xyz"), ("authorization", "Bearer tok")], "");
        assert_eq!(r.cookie("tessera_session").as_deref(), Some("xyz"));
        assert_eq!(r.bearer(), Some("tok"));
    }
}
