//! Domain tests: the real core over real SQLite with the real migrations,
//! driven through `tessera_core::handle` exactly as the edge hosts drive it.
//! The clock is pinned, so lockout windows and link expiry are tested by
//! moving time, not by sleeping.

use native_host_support::*;

#[path = "domain/actions.rs"]
mod actions;
#[path = "domain/audit_log.rs"]
mod audit_log;
#[path = "domain/coverage.rs"]
mod coverage;
#[path = "domain/jws.rs"]
mod jws;
#[path = "domain/log_streams.rs"]
mod log_streams;
#[path = "domain/mfa.rs"]
mod mfa;
#[path = "domain/oauth.rs"]
mod oauth;
#[path = "domain/platform_auth.rs"]
mod platform_auth;
#[path = "domain/scim.rs"]
mod scim;
#[path = "domain/security.rs"]
mod security;

mod native_host_support {
    pub use serde_json::{json, Value};
    pub use std::collections::HashMap;
    pub use tessera_native::NativeHost;

    pub const PLATFORM_KEY: &str = "test-platform-key-0123456789";
    pub const T0: i64 = 1_800_000_000_000;

    pub struct Env {
        pub host: NativeHost,
    }

    pub struct Resp {
        pub status: u16,
        pub headers: http::HeaderMap,
        pub body: String,
    }

    impl Resp {
        pub fn json(&self) -> Value {
            serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
        }
        pub fn header(&self, n: &str) -> &str {
            self.headers.get(n).map(|v| v.to_str().unwrap()).unwrap_or("")
        }
        pub fn set_cookies(&self) -> Vec<String> {
            self.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect()
        }
        /// The value of a hidden input in the page.
        pub fn hidden(&self, name: &str) -> String {
            let marker = format!("name=\"{name}\" value=\"");
            let start = self.body.find(&marker).unwrap_or_else(|| panic!("no {name} in {}", self.body)) + marker.len();
            let end = self.body[start..].find('"').unwrap() + start;
            self.body[start..end].replace("&amp;", "&")
        }
    }

    /// A browser: a cookie jar per test.
    #[derive(Default, Clone)]
    pub struct Browser {
        pub cookies: HashMap<String, String>,
        pub ip: String,
    }

    impl Env {
        pub fn new() -> Self {
            let host = NativeHost::in_memory().expect("migrations apply");
            host.clock.set_fixed(T0);
            host.set_secret("MASTER_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
            host.set_secret("PLATFORM_API_KEY", PLATFORM_KEY);
            // Local conveniences (dev mailbox, dev routes) are opt-in.
            host.set_var("DEV_MODE", "true");
            Env { host }
        }

        pub fn send(&self, method: &str, uri: &str, headers: &[(&str, &str)], body: &[u8], ip: &str) -> Resp {
            let mut b = http::Request::builder().method(method).uri(format!("http://127.0.0.1:8787{uri}"));
            for (k, v) in headers {
                b = b.header(*k, *v);
            }
            let mut req = b.body(body.to_vec()).unwrap();
            req.extensions_mut().insert(tessera_core::ClientIp(ip.to_string()));
            let resp = self.host.handle(req);
            let (parts, body) = resp.into_parts();
            Resp { status: parts.status.as_u16(), headers: parts.headers, body: String::from_utf8(body).unwrap() }
        }

        /// A request as an HTTP server hands it over: a path, and the client's
        /// own `Host` header.
        pub fn send_as(&self, host: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
            let mut b = http::Request::builder().method(method).uri(path).header("host", host);
            for (k, v) in headers {
                b = b.header(*k, *v);
            }
            let mut req = b.body(body.to_vec()).unwrap();
            req.extensions_mut().insert(tessera_core::ClientIp("192.0.2.9".into()));
            let (parts, body) = self.host.handle(req).into_parts();
            Resp { status: parts.status.as_u16(), headers: parts.headers, body: String::from_utf8(body).unwrap() }
        }

        pub fn api(&self, method: &str, uri: &str, token: &str, body: Option<Value>) -> Resp {
            let auth = format!("Bearer {token}");
            let b = body.map(|v| v.to_string()).unwrap_or_default();
            let mut h = vec![("authorization", auth.as_str())];
            if !b.is_empty() {
                h.push(("content-type", "application/json"));
            }
            self.send(method, uri, &h, b.as_bytes(), "10.0.0.1")
        }

        pub fn platform(&self, method: &str, uri: &str, body: Option<Value>) -> Resp {
            self.api(method, uri, PLATFORM_KEY, body)
        }

        /// Creates a tenant and a management API key for it.
        pub fn tenant(&self, slug: &str) -> String {
            let r = self.platform("POST", "/api/v1/internal/tenants", Some(json!({ "slug": slug, "name": slug })));
            assert_eq!(r.status, 201, "{}", r.body);
            let r = self.platform("POST", &format!("/api/v1/internal/tenants/{slug}/api-keys"), None);
            assert_eq!(r.status, 201, "{}", r.body);
            r.json()["key"].as_str().unwrap().to_string()
        }

        pub fn get(&self, b: &mut Browser, path: &str) -> Resp {
            let cookie = b.cookie_header();
            let r = self.send("GET", path, &[("cookie", &cookie)], b"", &b.ip());
            b.absorb(&r);
            r
        }

        pub fn post_form(&self, b: &mut Browser, path: &str, fields: &[(&str, &str)]) -> Resp {
            let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
            let cookie = b.cookie_header();
            let r = self.send(
                "POST",
                path,
                &[("cookie", &cookie), ("content-type", "application/x-www-form-urlencoded")],
                body.as_bytes(),
                &b.ip(),
            );
            b.absorb(&r);
            r
        }

        /// GETs a form page and submits it with the page's CSRF token.
        pub fn submit(&self, b: &mut Browser, page: &str, action: &str, fields: &[(&str, &str)]) -> Resp {
            let p = self.get(b, page);
            assert_eq!(p.status, 200, "{page}: {}", p.body);
            let token = p.hidden("csrf_token");
            let mut all: Vec<(&str, &str)> = vec![("csrf_token", &token)];
            all.extend_from_slice(fields);
            self.post_form(b, action, &all)
        }

        /// Rows in the dev mailbox table, read directly.
        pub fn mailbox_rows(&self) -> i64 {
            self.host.db.conn().query_row("SELECT COUNT(*) FROM dev_mailbox", [], |r| r.get(0)).unwrap()
        }

        pub fn mailbox(&self, to: &str) -> Vec<Value> {
            let r = self.platform("GET", &format!("/api/v1/internal/dev/mailbox?to={to}"), None);
            assert_eq!(r.status, 200, "{}", r.body);
            r.json()["messages"].as_array().unwrap().clone()
        }

        /// The path (with query) of the first tenant link in the newest mail.
        pub fn link_in_mail(&self, to: &str) -> String {
            let text = self.mailbox(to)[0]["text"].as_str().unwrap().to_string();
            let start = text.find("http://127.0.0.1:8787").expect("a link") + "http://127.0.0.1:8787".len();
            text[start..].split_whitespace().next().unwrap().to_string()
        }

        pub fn signup_verified(&self, slug: &str, email: &str, password: &str) {
            let mut b = Browser::default();
            let r = self.submit(
                &mut b,
                &format!("/t/{slug}/signup"),
                &format!("/t/{slug}/signup"),
                &[("email", email), ("password", password)],
            );
            assert_eq!(r.status, 200, "{}", r.body);
            let link = self.link_in_mail(email);
            let token = link.split("token=").nth(1).unwrap().to_string();
            let r = self.submit(&mut b, &link, &format!("/t/{slug}/verify-email"), &[("token", &token)]);
            assert_eq!(r.status, 200, "{}", r.body);
        }

        pub fn login(&self, b: &mut Browser, slug: &str, email: &str, password: &str) -> Resp {
            self.submit(
                b,
                &format!("/t/{slug}/login"),
                &format!("/t/{slug}/login"),
                &[("email", email), ("password", password)],
            )
        }
    }

    impl Browser {
        pub fn ip(&self) -> String {
            if self.ip.is_empty() {
                "192.0.2.1".into()
            } else {
                self.ip.clone()
            }
        }
        pub fn cookie_header(&self) -> String {
            self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
        }
        pub fn absorb(&mut self, r: &Resp) {
            for c in r.set_cookies() {
                let first = c.split(';').next().unwrap();
                let (k, v) = first.split_once('=').unwrap();
                if c.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), v.to_string());
                }
            }
        }
    }
}

#[test]
fn internal_api_requires_the_platform_key() {
    let env = Env::new();
    for token in ["", "wrong", "tmk_abc_def"] {
        let r = env.api("GET", "/api/v1/internal/tenants", token, None);
        assert_eq!(r.status, 401, "{token}");
        assert_eq!(r.header("content-type"), "application/problem+json");
        assert!(r.header("www-authenticate").starts_with("Bearer"));
    }
    // Without the secret configured, even an empty key does not pass.
    env.host.set_secret("PLATFORM_API_KEY", "");
    assert_eq!(env.api("GET", "/api/v1/internal/tenants", "", None).status, 401);
}

#[test]
fn tenant_lifecycle() {
    let env = Env::new();
    env.tenant("acme");
    let r = env.platform("POST", "/api/v1/internal/tenants", Some(json!({ "slug": "acme" })));
    assert_eq!(r.status, 409);
    let r = env.platform("POST", "/api/v1/internal/tenants", Some(json!({ "slug": "Bad Slug" })));
    assert_eq!(r.status, 400);
    let r = env.platform("GET", "/api/v1/internal/tenants/acme", None);
    assert_eq!(r.status, 200);
    let id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(r.json()["issuer"], "http://127.0.0.1:8787/t/acme");
    assert_eq!(env.platform("GET", &format!("/api/v1/internal/tenants/{id}"), None).json()["slug"], "acme");
    let r = env.platform(
        "PATCH",
        "/api/v1/internal/tenants/acme",
        Some(json!({ "name": "Acme Inc", "settings": { "lockout_threshold": 3 } })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["settings"]["lockout_threshold"], 3);
    assert_eq!(r.json()["settings"]["lockout_minutes"], 15);
    let r = env.platform("PATCH", "/api/v1/internal/tenants/acme", Some(json!({ "settings": { "nope": 1 } })));
    assert_eq!(r.status, 400);
    let r =
        env.platform("PATCH", "/api/v1/internal/tenants/acme", Some(json!({ "settings": { "lockout_threshold": 0 } })));
    assert_eq!(r.status, 400);
    // Pagination over tenants.
    for s in ["b1", "b2", "b3"] {
        env.tenant(s);
    }
    let r = env.platform("GET", "/api/v1/internal/tenants?limit=2", None).json();
    assert_eq!(r["tenants"].as_array().unwrap().len(), 2);
    let cursor = r["next_cursor"].as_str().unwrap();
    let r2 = env.platform("GET", &format!("/api/v1/internal/tenants?limit=2&cursor={cursor}"), None).json();
    assert_eq!(r2["tenants"].as_array().unwrap().len(), 2);
    assert!(r2["next_cursor"].is_null());
    // Delete cascades: the tenant and its pages are gone.
    assert_eq!(env.platform("DELETE", "/api/v1/internal/tenants/acme", None).status, 204);
    assert_eq!(env.platform("GET", "/api/v1/internal/tenants/acme", None).status, 404);
    assert_eq!(env.send("GET", "/t/acme/login", &[], b"", "x").status, 404);
    let left: i64 = env
        .host
        .db
        .conn()
        .query_row("SELECT COUNT(*) FROM signing_keys WHERE tenant_id = ?1", [&id], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
}

#[test]
fn signup_verify_login_logout() {
    let env = Env::new();
    env.tenant("demo");
    let mut b = Browser::default();
    let r = env.submit(
        &mut b,
        "/t/demo/signup",
        "/t/demo/signup",
        &[("email", "Ana@Example.com"), ("password", "correct horse battery"), ("name", "Ana")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Check your email"));

    // Not verified yet: login is refused with a way to resend.
    let r = env.login(&mut b, "demo", "ana@example.com", "correct horse battery");
    assert_eq!(r.status, 403);
    assert!(r.body.contains("Verify your email"));

    let link = env.link_in_mail("ana@example.com");
    assert!(link.starts_with("/t/demo/verify-email?token="), "{link}");
    let token = link.split("token=").nth(1).unwrap().to_string();
    // Opening the link alone does not use the token.
    assert_eq!(env.get(&mut b, &link).status, 200);
    assert_eq!(env.get(&mut b, &link).status, 200);
    let r = env.submit(&mut b, &link, "/t/demo/verify-email", &[("token", &token)]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("verified"));
    // Single use: the same token posted again is refused, and so is the link.
    let csrf = env.get(&mut b, "/t/demo/login").hidden("csrf_token");
    let again = env.post_form(&mut b, "/t/demo/verify-email", &[("csrf_token", &csrf), ("token", &token)]);
    assert_eq!(again.status, 400, "{}", again.body);
    assert_eq!(env.get(&mut b, &link).status, 400);

    let r = env.login(&mut b, "demo", "ana@example.com", "correct horse battery");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), "/t/demo/account");
    let session_cookie = r.set_cookies().into_iter().find(|c| c.starts_with("tessera_session=")).unwrap();
    for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/t/demo"] {
        assert!(session_cookie.contains(attr), "{session_cookie}");
    }
    let r = env.get(&mut b, "/t/demo/account");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("ana@example.com"));

    let stolen = b.clone();
    let r = env.submit(&mut b, "/t/demo/account", "/t/demo/logout", &[]);
    assert_eq!(r.status, 303);
    assert_eq!(env.get(&mut b, "/t/demo/account").status, 303);
    // The server-side session is gone: a copied cookie no longer works.
    let mut stolen = stolen;
    assert_eq!(env.get(&mut stolen, "/t/demo/account").status, 303);

    let events: Vec<String> = env.platform("GET", "/api/v1/internal/tenants/demo/logs", None).json()["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    for t in ["ss", "sv", "s", "slo", "f"] {
        assert!(events.contains(&t.to_string()), "{t} in {events:?}");
    }
    let outbox: i64 = env.host.db.conn().query_row("SELECT COUNT(*) FROM event_outbox", [], |r| r.get(0)).unwrap();
    assert!(outbox >= 5);
}

#[test]
fn signup_does_not_reveal_existing_accounts() {
    let env = Env::new();
    env.tenant("demo");
    env.signup_verified("demo", "ana@example.com", "correct horse battery");
    let mut b = Browser::default();
    let r = env.submit(
        &mut b,
        "/t/demo/signup",
        "/t/demo/signup",
        &[("email", "ana@example.com"), ("password", "another password")],
    );
    assert_eq!(r.status, 200);
    assert!(r.body.contains("Check your email"));
    let mail = env.mailbox("ana@example.com");
    assert!(mail[0]["subject"].as_str().unwrap().contains("Sign-up attempt"));
    // The original password still works.
    assert_eq!(env.login(&mut b, "demo", "ana@example.com", "correct horse battery").status, 303);
    // Bad input is a 400 page, no account made.
    let r = env.submit(
        &mut b,
        "/t/demo/signup",
        "/t/demo/signup",
        &[("email", "not-an-email"), ("password", "long enough pw")],
    );
    assert_eq!(r.status, 400);
    let r =
        env.submit(&mut b, "/t/demo/signup", "/t/demo/signup", &[("email", "bo@example.com"), ("password", "short")]);
    assert_eq!(r.status, 400);
    assert!(env.mailbox("bo@example.com").is_empty());
}

#[test]
fn lockout_after_repeated_failures_without_revealing_accounts() {
    let env = Env::new();
    env.tenant("demo");
    env.signup_verified("demo", "ana@example.com", "correct horse battery");
    let mut b = Browser::default();
    for i in 0..4 {
        let r = env.login(&mut b, "demo", "ana@example.com", "wrong");
        assert_eq!(r.status, 401, "attempt {i}");
        assert!(r.body.contains("Wrong email or password"));
    }
    let r = env.login(&mut b, "demo", "ana@example.com", "wrong");
    assert_eq!(r.status, 429);
    // Locked: even the right password is refused now.
    let r = env.login(&mut b, "demo", "ana@example.com", "correct horse battery");
    assert_eq!(r.status, 429);
    assert!(r.body.contains("Too many failed attempts"));

    // An address without an account behaves exactly the same.
    for _ in 0..4 {
        assert_eq!(env.login(&mut b, "demo", "ghost@example.com", "wrong").status, 401);
    }
    assert_eq!(env.login(&mut b, "demo", "ghost@example.com", "wrong").status, 429);

    // The lock lifts after its window.
    env.host.clock.advance(16 * 60_000);
    assert_eq!(env.login(&mut b, "demo", "ana@example.com", "correct horse battery").status, 303);
    let types: Vec<Value> = env.platform("GET", "/api/v1/internal/tenants/demo/logs?type=limit_wc", None).json()
        ["logs"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(types.len(), 2);
}

#[test]
fn ip_rate_limit() {
    let env = Env::new();
    env.tenant("demo");
    env.platform("PATCH", "/api/v1/internal/tenants/demo", Some(json!({ "settings": { "ip_failure_limit": 3 } })));
    let mut attacker = Browser { ip: "203.0.113.9".into(), ..Default::default() };
    for (i, email) in ["a@x.io", "b@x.io"].iter().enumerate() {
        assert_eq!(env.login(&mut attacker, "demo", email, "pw").status, 401, "{i}");
    }
    assert_eq!(env.login(&mut attacker, "demo", "c@x.io", "pw").status, 401);
    assert_eq!(env.login(&mut attacker, "demo", "d@x.io", "pw").status, 429);
    // Another address is not affected.
    let mut other = Browser { ip: "198.51.100.7".into(), ..Default::default() };
    assert_eq!(env.login(&mut other, "demo", "d@x.io", "pw").status, 401);
}

#[test]
fn password_reset() {
    let env = Env::new();
    env.tenant("demo");
    env.signup_verified("demo", "ana@example.com", "correct horse battery");
    let mut old_session = Browser::default();
    assert_eq!(env.login(&mut old_session, "demo", "ana@example.com", "correct horse battery").status, 303);

    let mut b = Browser::default();
    // Unknown addresses get the same answer and no mail.
    let r = env.submit(&mut b, "/t/demo/password-reset", "/t/demo/password-reset", &[("email", "ghost@example.com")]);
    assert_eq!(r.status, 200);
    assert!(env.mailbox("ghost@example.com").is_empty());
    let r = env.submit(&mut b, "/t/demo/password-reset", "/t/demo/password-reset", &[("email", "ana@example.com")]);
    assert_eq!(r.status, 200);
    let link = env.link_in_mail("ana@example.com");
    assert!(link.starts_with("/t/demo/password-reset/confirm?token="), "{link}");
    let token = link.split("token=").nth(1).unwrap().to_string();

    // A too-short password does not burn the link.
    let r = env.submit(&mut b, &link, "/t/demo/password-reset/confirm", &[("token", &token), ("password", "short")]);
    assert_eq!(r.status, 400);
    let r = env.submit(
        &mut b,
        &link,
        "/t/demo/password-reset/confirm",
        &[("token", &token), ("password", "a brand new password")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // Used once.
    let csrf = env.get(&mut b, "/t/demo/password-reset").hidden("csrf_token");
    let r = env.post_form(
        &mut b,
        "/t/demo/password-reset/confirm",
        &[("csrf_token", &csrf), ("token", &token), ("password", "yet another password")],
    );
    assert_eq!(r.status, 400);

    assert_eq!(env.login(&mut b, "demo", "ana@example.com", "correct horse battery").status, 401);
    assert_eq!(env.login(&mut b, "demo", "ana@example.com", "a brand new password").status, 303);
    // Sessions from before the change are over.
    assert_eq!(env.get(&mut old_session, "/t/demo/account").status, 303);
}

#[test]
fn reset_links_expire() {
    let env = Env::new();
    env.tenant("demo");
    env.signup_verified("demo", "ana@example.com", "correct horse battery");
    let mut b = Browser::default();
    env.submit(&mut b, "/t/demo/password-reset", "/t/demo/password-reset", &[("email", "ana@example.com")]);
    let link = env.link_in_mail("ana@example.com");
    env.host.clock.advance(61 * 60_000);
    assert_eq!(env.get(&mut b, &link).status, 400);
}

#[test]
fn forms_need_a_valid_csrf_token() {
    let env = Env::new();
    env.tenant("demo");
    env.tenant("other");
    let mut b = Browser::default();
    env.get(&mut b, "/t/demo/login");
    let r = env.post_form(&mut b, "/t/demo/login", &[("email", "a@b.co"), ("password", "x")]);
    assert_eq!(r.status, 403);
    assert!(r.header("content-type").starts_with("text/html"));
    let r = env.post_form(&mut b, "/t/demo/login", &[("csrf_token", "forged"), ("email", "a@b.co"), ("password", "x")]);
    assert_eq!(r.status, 403);
    // A token minted for another tenant does not pass here.
    let other_token = env.get(&mut b, "/t/other/login").hidden("csrf_token");
    let r =
        env.post_form(&mut b, "/t/demo/login", &[("csrf_token", &other_token), ("email", "a@b.co"), ("password", "x")]);
    assert_eq!(r.status, 403);
    // No cookie at all.
    let mut fresh = Browser::default();
    let token = env.get(&mut b, "/t/demo/login").hidden("csrf_token");
    let r =
        env.post_form(&mut fresh, "/t/demo/login", &[("csrf_token", &token), ("email", "a@b.co"), ("password", "x")]);
    assert_eq!(r.status, 403);
}

#[test]
fn management_api_users() {
    let env = Env::new();
    let key = env.tenant("demo");
    let r = env.api(
        "POST",
        "/t/demo/api/v1/users",
        &key,
        Some(json!({ "email": "Bo@Example.com", "password": "long enough pw", "name": "Bo", "email_verified": true })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let bo = r.json();
    assert_eq!(bo["email"], "bo@example.com");
    assert!(bo.get("password_hash").is_none());
    let id = bo["id"].as_str().unwrap();
    assert_eq!(env.api("POST", "/t/demo/api/v1/users", &key, Some(json!({ "email": "bo@example.com" }))).status, 409);
    assert_eq!(
        env.api("POST", "/t/demo/api/v1/users", &key, Some(json!({ "email": "x@example.com", "password": "short" })))
            .status,
        400
    );
    assert_eq!(
        env.api("POST", "/t/demo/api/v1/users", &key, Some(json!({ "email": "x@example.com", "role": "admin" })))
            .status,
        400
    );

    for i in 0..4 {
        assert_eq!(
            env.api("POST", "/t/demo/api/v1/users", &key, Some(json!({ "email": format!("u{i}@example.com") }))).status,
            201
        );
    }
    let page1 = env.api("GET", "/t/demo/api/v1/users?limit=3", &key, None).json();
    assert_eq!(page1["users"].as_array().unwrap().len(), 3);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2 = env.api("GET", &format!("/t/demo/api/v1/users?limit=3&cursor={cursor}"), &key, None).json();
    assert_eq!(page2["users"].as_array().unwrap().len(), 2);
    assert!(page2["next_cursor"].is_null());
    let filtered = env.api("GET", "/t/demo/api/v1/users?email=BO@example.com", &key, None).json();
    assert_eq!(filtered["users"].as_array().unwrap().len(), 1);
    assert_eq!(env.api("GET", "/t/demo/api/v1/users?limit=0", &key, None).status, 400);
    assert_eq!(env.api("GET", "/t/demo/api/v1/users?cursor=***", &key, None).status, 400);

    let r =
        env.api("PATCH", &format!("/t/demo/api/v1/users/{id}"), &key, Some(json!({ "name": null, "blocked": "yes" })));
    assert_eq!(r.status, 400);
    let r = env.api("PATCH", &format!("/t/demo/api/v1/users/{id}"), &key, Some(json!({ "name": null })));
    assert_eq!(r.status, 200);
    assert!(r.json()["name"].is_null());

    // Blocking ends sessions and refuses login.
    let mut b = Browser::default();
    assert_eq!(env.login(&mut b, "demo", "bo@example.com", "long enough pw").status, 303);
    let r = env.api("POST", &format!("/t/demo/api/v1/users/{id}/block"), &key, None);
    assert_eq!(r.json()["blocked"], true);
    assert_eq!(env.get(&mut b, "/t/demo/account").status, 303);
    assert_eq!(env.login(&mut b, "demo", "bo@example.com", "long enough pw").status, 403);
    env.api("POST", &format!("/t/demo/api/v1/users/{id}/unblock"), &key, None);
    assert_eq!(env.login(&mut b, "demo", "bo@example.com", "long enough pw").status, 303);

    // A password set through the API works for login.
    env.api("PATCH", &format!("/t/demo/api/v1/users/{id}"), &key, Some(json!({ "password": "changed by admin" })));
    assert_eq!(env.login(&mut Browser::default(), "demo", "bo@example.com", "changed by admin").status, 303);

    assert_eq!(env.api("DELETE", &format!("/t/demo/api/v1/users/{id}"), &key, None).status, 204);
    assert_eq!(env.api("GET", &format!("/t/demo/api/v1/users/{id}"), &key, None).status, 404);
    assert_eq!(env.api("DELETE", &format!("/t/demo/api/v1/users/{id}"), &key, None).status, 404);
}

#[test]
fn tenant_isolation() {
    let env = Env::new();
    let key_a = env.tenant("alpha");
    let key_b = env.tenant("beta");
    let a_user = env
        .api(
            "POST",
            "/t/alpha/api/v1/users",
            &key_a,
            Some(json!({ "email": "ana@example.com", "password": "correct horse battery", "email_verified": true })),
        )
        .json();
    let id = a_user["id"].as_str().unwrap();

    // B's key is unknown at A, and A's user is unknown at B.
    assert_eq!(env.api("GET", "/t/alpha/api/v1/users", &key_b, None).status, 401);
    assert_eq!(env.api("GET", &format!("/t/beta/api/v1/users/{id}"), &key_b, None).status, 404);
    assert_eq!(env.api("DELETE", &format!("/t/beta/api/v1/users/{id}"), &key_b, None).status, 404);
    assert_eq!(
        env.api("GET", "/t/beta/api/v1/users?email=ana@example.com", &key_b, None).json()["users"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // A tenant key never reaches the platform API.
    assert_eq!(env.api("GET", "/api/v1/internal/tenants", &key_a, None).status, 401);

    // A's user cannot sign in at B, and A's session cookie means nothing at B.
    let mut b = Browser::default();
    assert_eq!(env.login(&mut b, "beta", "ana@example.com", "correct horse battery").status, 401);
    assert_eq!(env.login(&mut b, "alpha", "ana@example.com", "correct horse battery").status, 303);
    let session = b.cookies["tessera_session"].clone();
    let r = env.send("GET", "/t/beta/account", &[("cookie", &format!("tessera_session={session}"))], b"", "x");
    assert_eq!(r.status, 303);

    // Keys are per tenant.
    let ja = env.send("GET", "/t/alpha/.well-known/jwks.json", &[], b"", "x").json();
    let jb = env.send("GET", "/t/beta/.well-known/jwks.json", &[], b"", "x").json();
    assert_ne!(ja["keys"][0]["kid"], jb["keys"][0]["kid"]);
}

fn jwk_to_key(jwk: &Value) -> p256::ecdsa::VerifyingKey {
    use base64::Engine;
    let d = |s: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.as_str().unwrap()).unwrap();
    let mut sec1 = vec![4u8];
    sec1.extend(d(&jwk["x"]));
    sec1.extend(d(&jwk["y"]));
    p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).expect("a P-256 point")
}

#[test]
fn discovery_jwks_and_key_rotation() {
    let env = Env::new();
    env.tenant("demo");
    let d = env.send("GET", "/t/demo/.well-known/openid-configuration", &[], b"", "x");
    assert_eq!(d.status, 200);
    assert!(d.header("cache-control").contains("max-age"));
    let d = d.json();
    assert_eq!(d["issuer"], "http://127.0.0.1:8787/t/demo");
    assert_eq!(d["jwks_uri"], "http://127.0.0.1:8787/t/demo/.well-known/jwks.json");

    let jwks = env.send("GET", "/t/demo/.well-known/jwks.json", &[], b"", "x").json();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["alg"], "ES256");
    let old_kid = keys[0]["kid"].as_str().unwrap().to_string();
    jwk_to_key(&keys[0]);

    // The private key decrypts through the envelope and matches the JWK.
    let view = tessera_native::HostView::new(&env.host);
    let tenant_id =
        env.platform("GET", "/api/v1/internal/tenants/demo", None).json()["id"].as_str().unwrap().to_string();
    let (kid, sk) = pollster::block_on(tessera_core::keys::active_signing_key(
        &view,
        &tessera_core::types::TenantId(tenant_id.clone()),
    ))
    .unwrap();
    assert_eq!(kid, old_kid);
    assert_eq!(sk.expose().verifying_key(), &jwk_to_key(&keys[0]));
    // The stored private key is not the plaintext scalar.
    let stored: String = env
        .host
        .db
        .conn()
        .query_row("SELECT private_key_enc FROM signing_keys WHERE kid = ?1", [&kid], |r| r.get(0))
        .unwrap();
    assert!(stored.starts_with("v1."));

    // Rotation: a new active key; the old one still verifies.
    let r = env.platform("POST", "/api/v1/internal/tenants/demo/signing-keys", None);
    assert_eq!(r.status, 201);
    let new_kid = r.json()["kid"].as_str().unwrap().to_string();
    let jwks = env.send("GET", "/t/demo/.well-known/jwks.json", &[], b"", "x").json();
    let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, vec![new_kid.as_str(), old_kid.as_str()]);
    // The active key cannot be retired; the old one can, and leaves the JWKS.
    assert_eq!(
        env.platform("POST", &format!("/api/v1/internal/tenants/demo/signing-keys/{new_kid}/retire"), None).status,
        409
    );
    assert_eq!(
        env.platform("POST", &format!("/api/v1/internal/tenants/demo/signing-keys/{old_kid}/retire"), None).status,
        204
    );
    assert_eq!(env.platform("POST", "/api/v1/internal/tenants/demo/signing-keys/nope/retire", None).status, 404);
    let jwks = env.send("GET", "/t/demo/.well-known/jwks.json", &[], b"", "x").json();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["kid"], new_kid.as_str());
    let listed = env.platform("GET", "/api/v1/internal/tenants/demo/signing-keys", None).json();
    assert_eq!(listed["signing_keys"].as_array().unwrap().len(), 2);
}

#[test]
fn master_key_rotation_keeps_old_data_readable() {
    let env = Env::new();
    env.tenant("demo");
    // A new master key, the old one kept as previous: existing tenants work.
    env.host.set_secret("MASTER_KEY_PREVIOUS", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    env.host.set_secret("MASTER_KEY", "HxwdHhscGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=");
    assert_eq!(env.platform("POST", "/api/v1/internal/tenants/demo/signing-keys", None).status, 201);
    env.tenant("fresh");
    // Without the previous key, the old tenant's keys cannot be opened: a
    // server error, never data from the wrong key.
    env.host.set_secret("MASTER_KEY_PREVIOUS", "");
    assert_eq!(env.platform("POST", "/api/v1/internal/tenants/demo/signing-keys", None).status, 500);
    assert_eq!(env.platform("POST", "/api/v1/internal/tenants/fresh/signing-keys", None).status, 201);
}

#[test]
fn custom_domains_resolve_tenants() {
    let env = Env::new();
    env.tenant("demo");
    let r =
        env.platform("POST", "/api/v1/internal/tenants/demo/domains", Some(json!({ "domain": "Login.Example.com" })));
    assert_eq!(r.status, 201, "{}", r.body);
    env.tenant("other");
    assert_eq!(
        env.platform("POST", "/api/v1/internal/tenants/other/domains", Some(json!({ "domain": "login.example.com" })))
            .status,
        409
    );

    let mut req = http::Request::get("/.well-known/openid-configuration")
        .header("host", "login.example.com")
        .body(Vec::new())
        .unwrap();
    req.extensions_mut().insert(tessera_core::ClientIp("x".into()));
    let resp = env.host.handle(req);
    assert_eq!(resp.status(), 200);
    let v: Value = serde_json::from_slice(resp.body()).unwrap();
    assert_eq!(v["issuer"], "https://login.example.com");

    // A host that is neither the canonical origin nor a custom domain is
    // misdirected (RFC 9110 §15.5.20), and so is a domain once unmapped.
    let req = http::Request::get("/login").header("host", "unknown.example.com").body(Vec::new()).unwrap();
    assert_eq!(env.host.handle(req).status(), 421);
    assert_eq!(env.platform("DELETE", "/api/v1/internal/tenants/demo/domains/login.example.com", None).status, 204);
    let req = http::Request::get("/login").header("host", "login.example.com").body(Vec::new()).unwrap();
    assert_eq!(env.host.handle(req).status(), 421);
}

#[test]
fn api_keys_are_shown_once_and_revocable() {
    let env = Env::new();
    let key = env.tenant("demo");
    assert!(key.starts_with("tmk_"));
    let listed = env.platform("GET", "/api/v1/internal/tenants/demo/api-keys", None);
    assert!(!listed.body.contains(&key[12..]), "the secret is never listed");
    let id = listed.json()["api_keys"][0]["id"].as_str().unwrap().to_string();
    let stored: String = env
        .host
        .db
        .conn()
        .query_row("SELECT secret_hash FROM tenant_api_keys WHERE id = ?1", [&id], |r| r.get(0))
        .unwrap();
    assert!(!stored.contains(&key[12..]));
    assert_eq!(env.api("GET", "/t/demo/api/v1/users", &key, None).status, 200);
    // Right prefix, wrong secret.
    let forged = format!("{}{}", &key[..key.len() - 4], "AAAA");
    assert_eq!(env.api("GET", "/t/demo/api/v1/users", &forged, None).status, 401);
    assert_eq!(env.platform("DELETE", &format!("/api/v1/internal/tenants/demo/api-keys/{id}"), None).status, 204);
    assert_eq!(env.api("GET", "/t/demo/api/v1/users", &key, None).status, 401);
}

#[test]
fn http_email_provider_goes_through_outbound() {
    let env = Env::new();
    env.tenant("demo");
    // A production configuration: no dev mode, a public origin, a provider.
    env.host.set_var("DEV_MODE", "");
    env.host.set_var("PUBLIC_URL", "http://127.0.0.1:8787");
    env.host.set_var("EMAIL_API_URL", "https://mail.example.test/emails");
    env.host.set_var("EMAIL_FROM", "login@example.test");
    env.host.set_secret("EMAIL_API_KEY", "re_supersecret");
    let mut b = Browser::default();
    let r = env.submit(
        &mut b,
        "/t/demo/signup",
        "/t/demo/signup",
        &[("email", "ana@example.com"), ("password", "correct horse battery")],
    );
    assert_eq!(r.status, 200);
    let sent = env.host.outbound.sent.borrow();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].uri(), "https://mail.example.test/emails");
    assert_eq!(sent[0].headers()["authorization"], "Bearer re_supersecret");
    let body: Value = serde_json::from_slice(sent[0].body()).unwrap();
    assert_eq!(body["to"][0], "ana@example.com");
    assert_eq!(body["from"], "login@example.test");
    assert!(body["text"].as_str().unwrap().contains("/t/demo/verify-email?token="));
    drop(sent);
    // The dev routes do not exist outside dev mode.
    assert_eq!(env.platform("GET", "/api/v1/internal/dev/mailbox", None).status, 404);
    assert_eq!(env.platform("POST", "/api/v1/internal/dev/bench/argon2?n=1", None).status, 404);
    assert!(env.mailbox_rows() == 0, "nothing went to the dev mailbox");
    // A failing provider is a server error, and the API key is not in it.
    env.host.outbound.status.set(500);
    let r = env.submit(&mut b, "/t/demo/password-reset", "/t/demo/password-reset", &[("email", "ana@example.com")]);
    assert_eq!(r.status, 500);
    assert!(!r.body.contains("supersecret"));
}

#[test]
fn bad_input_gets_clear_client_errors() {
    let env = Env::new();
    let key = env.tenant("demo");
    let cases: Vec<(Resp, u16, &str)> = vec![
        (env.send("GET", "/t/nope/login", &[], b"", "x"), 404, "text/html"),
        (env.send("GET", "/t/nope/api/v1/users", &[], b"", "x"), 404, "application/problem+json"),
        (env.send("GET", "/t/NOPE!/login", &[], b"", "x"), 404, "text/html"),
        (env.send("PUT", "/t/demo/login", &[], b"", "x"), 405, "text/html"),
        (env.send("DELETE", "/api/v1/internal/tenants", &[], b"", "x"), 405, "application/problem+json"),
        (env.send("GET", "/t/demo/no-such-page", &[], b"", "x"), 404, "text/html"),
        (env.send("POST", "/t/demo/login", &[("content-type", "application/json")], b"{}", "x"), 415, "text/html"),
        (
            env.send(
                "POST",
                "/t/demo/login",
                &[("content-type", "application/x-www-form-urlencoded")],
                &[0xff, 0xfe],
                "x",
            ),
            400,
            "text/html",
        ),
        (
            env.send(
                "POST",
                "/t/demo/login",
                &[("content-type", "application/x-www-form-urlencoded")],
                &vec![b'a'; 70_000],
                "x",
            ),
            413,
            "text/html",
        ),
        (env.api("POST", "/t/demo/api/v1/users", &key, None), 415, "application/problem+json"),
        (
            env.send(
                "POST",
                "/t/demo/api/v1/users",
                &[("authorization", &format!("Bearer {key}")), ("content-type", "application/json")],
                b"{\"email\":",
                "x",
            ),
            400,
            "application/problem+json",
        ),
        (
            env.send(
                "POST",
                "/t/demo/api/v1/users",
                &[("authorization", &format!("Bearer {key}")), ("content-type", "application/json")],
                b"[1,2]",
                "x",
            ),
            400,
            "application/problem+json",
        ),
        (env.platform("POST", "/api/v1/internal/tenants", Some(json!({ "slug": 5 }))), 400, "application/problem+json"),
    ];
    for (i, (r, status, ct)) in cases.iter().enumerate() {
        assert_eq!(r.status, *status, "case {i}: {}", r.body);
        assert!(r.header("content-type").starts_with(ct), "case {i}: {}", r.header("content-type"));
    }
    let r = env.send("PUT", "/t/demo/login", &[], b"", "x");
    assert_eq!(r.header("allow"), "GET, POST");
    // The benchmark endpoint is a dev route (DEV_MODE=true here; its absence
    // outside dev mode is tested with a production configuration).
    assert_eq!(env.platform("POST", "/api/v1/internal/dev/bench/argon2?n=1", None).status, 200);
    assert_eq!(env.platform("POST", "/api/v1/internal/dev/bench/argon2?n=500", None).status, 400);
    // Problem bodies carry the RFC 9457 members.
    let p = env.api("GET", "/t/demo/api/v1/users/usr_nope", &key, None).json();
    assert_eq!(p["status"], 404);
    assert!(p["title"].is_string() && p["detail"].is_string());
}

#[test]
fn open_redirects_are_refused() {
    let env = Env::new();
    env.tenant("demo");
    env.signup_verified("demo", "ana@example.com", "correct horse battery");
    let mut b = Browser::default();
    let p = env.get(&mut b, "/t/demo/login?return_to=https://evil.example/");
    let token = p.hidden("csrf_token");
    assert_eq!(p.hidden("return_to"), "/t/demo/account");
    let r = env.post_form(
        &mut b,
        "/t/demo/login",
        &[
            ("csrf_token", &token),
            ("email", "ana@example.com"),
            ("password", "correct horse battery"),
            ("return_to", "//evil.example"),
        ],
    );
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), "/t/demo/account");
}

#[test]
fn weaker_password_hashes_are_upgraded_on_login() {
    let env = Env::new();
    let key = env.tenant("demo");
    let id = env
        .api("POST", "/t/demo/api/v1/users", &key, Some(json!({ "email": "old@example.com", "email_verified": true })))
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A hash from an older, weaker policy (m=8 MiB, t=1).
    use argon2::password_hash::{PasswordHasher, SaltString};
    let weak = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(8192, 1, 1, None).unwrap(),
    );
    let h = weak.hash_password(b"legacy password", &SaltString::encode_b64(&[7; 16]).unwrap()).unwrap().to_string();
    env.host.db.conn().execute("UPDATE users SET password_hash = ?1 WHERE id = ?2", [&h, &id]).unwrap();
    assert_eq!(env.login(&mut Browser::default(), "demo", "old@example.com", "legacy password").status, 303);
    let now: String =
        env.host.db.conn().query_row("SELECT password_hash FROM users WHERE id = ?1", [&id], |r| r.get(0)).unwrap();
    assert!(now.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{now}");
    assert_eq!(env.login(&mut Browser::default(), "demo", "old@example.com", "legacy password").status, 303);
}

#[test]
fn reset_mail_is_rate_limited_per_address() {
    let env = Env::new();
    env.tenant("demo");
    env.signup_verified("demo", "ana@example.com", "correct horse battery");
    let before = env.mailbox("ana@example.com").len();
    let mut b = Browser::default();
    for _ in 0..8 {
        let r = env.submit(&mut b, "/t/demo/password-reset", "/t/demo/password-reset", &[("email", "ana@example.com")]);
        assert_eq!(r.status, 200, "the answer never changes");
    }
    assert_eq!(env.mailbox("ana@example.com").len() - before, 5);
    env.host.clock.advance(61 * 60_000);
    env.submit(&mut b, "/t/demo/password-reset", "/t/demo/password-reset", &[("email", "ana@example.com")]);
    assert_eq!(env.mailbox("ana@example.com").len() - before, 6);
}

#[test]
fn scheduled_key_rotation_publishes_before_signing() {
    let env = Env::new();
    env.tenant("demo");
    env.platform(
        "PATCH",
        "/api/v1/internal/tenants/demo",
        Some(json!({ "settings": { "signing_key_rotation_days": 30 } })),
    );
    let kids = |env: &Env| -> Vec<String> {
        env.send("GET", "/t/demo/.well-known/jwks.json", &[], b"", "x").json()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect()
    };
    let maintain = |env: &Env| env.platform("POST", "/api/v1/internal/maintenance", None).json();
    let first = kids(&env);
    assert_eq!(first.len(), 1);
    // Nothing to do while the key is young.
    assert_eq!(maintain(&env)["changes"].as_array().unwrap().len(), 0);
    // An hour before the rotation age, the next key is published but does not sign.
    env.host.clock.advance(30 * 86_400_000 - 3_600_000);
    let out = maintain(&env);
    let next = out["changes"][0]["keys"]["published"].as_str().unwrap().to_string();
    assert_eq!(kids(&env), vec![first[0].clone(), next.clone()]);
    let listed = env.platform("GET", "/api/v1/internal/tenants/demo/signing-keys", None).json();
    assert!(listed["signing_keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kid"] == next.as_str() && k["status"] == "next"));
    // At the rotation age, and published for an hour: it signs; the old one verifies.
    env.host.clock.advance(3_600_000);
    assert_eq!(maintain(&env)["changes"][0]["keys"]["activated"], next.as_str());
    assert_eq!(kids(&env), vec![next.clone(), first[0].clone()]);
    // A day later every token the old key signed has expired: it is retired.
    env.host.clock.advance(86_400_000);
    assert_eq!(maintain(&env)["changes"][0]["keys"]["retired"][0], first[0].as_str());
    assert_eq!(kids(&env), vec![next]);
    let erased: String = env
        .host
        .db
        .conn()
        .query_row("SELECT private_key_enc FROM signing_keys WHERE kid = ?1", [&first[0]], |r| r.get(0))
        .unwrap();
    assert_eq!(erased, "");
}

#[test]
fn openapi_document_matches_the_router_and_is_committed() {
    use tessera_core::web::router::{Scope, ROUTES};
    let generated = tessera_core::web::openapi::generate::generate();
    let committed: Value = serde_json::from_str(tessera_core::web::openapi::SPEC_JSON).unwrap();
    assert!(generated == committed, "openapi/openapi.json is stale: run scripts/openapi.sh and commit the result");
    let paths = generated["paths"].as_object().unwrap();
    let mut in_spec: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(p, ops)| ops.as_object().unwrap().keys().map(move |m| (m.to_uppercase(), p.clone())))
        .collect();
    let mut in_router: Vec<(String, String)> = ROUTES
        .iter()
        .map(|r| {
            let full = match (r.scope, r.path) {
                (Scope::Platform, p) => p.to_string(),
                (Scope::Tenant, "/") => "/t/{tenant}".to_string(),
                (Scope::Tenant, p) => format!("/t/{{tenant}}{p}"),
            };
            (r.method.to_string(), full)
        })
        .collect();
    in_spec.sort();
    in_router.sort();
    assert_eq!(in_spec, in_router, "every route is in the spec and every spec operation is a route");
    // And it is what the service serves.
    let env = Env::new();
    let served = env.send("GET", "/openapi.json", &[], b"", "x");
    assert_eq!(served.status, 200);
    assert_eq!(served.json(), committed);
}

#[test]
fn maintenance_deletes_what_can_no_longer_matter_and_keeps_the_rest() {
    let env = Env::new();
    env.tenant("demo");
    env.platform("PATCH", "/api/v1/internal/tenants/demo", Some(json!({ "settings": { "audit_retention_days": 7 } })));
    env.signup_verified("demo", "ana@example.com", "correct horse battery");
    let mut b = Browser::default();
    assert_eq!(env.login(&mut b, "demo", "ana@example.com", "correct horse battery").status, 303);
    let count = |table: &str| -> i64 {
        env.host.db.conn().query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap()
    };
    let audit_before = count("audit_events WHERE tenant_id IS NOT NULL");
    assert!(audit_before > 0 && count("sessions") == 1 && count("email_tokens") == 1);
    // Nothing is due yet.
    let r = env.platform("POST", "/api/v1/internal/maintenance", None).json();
    assert!(r["deleted"].as_array().unwrap().iter().all(|d| d[0] != "sessions" && d[0] != "audit_events"), "{r}");
    assert_eq!(count("sessions"), 1);
    // Eight days later the session (a week) and the used email token are gone,
    // and the tenant's audit events are past their 7-day retention.
    env.host.clock.advance(8 * 86_400_000);
    let r = env.platform("POST", "/api/v1/internal/maintenance", None).json();
    let deleted: HashMap<String, i64> = r["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d[0].as_str().unwrap().to_string(), d[1].as_i64().unwrap()))
        .collect();
    assert_eq!(deleted.get("sessions"), Some(&1), "{r}");
    assert_eq!(deleted.get("email_tokens"), Some(&1), "{r}");
    assert_eq!(deleted.get("audit_events"), Some(&audit_before), "{r}");
    assert_eq!(count("sessions") + count("email_tokens"), 0);
    // The user and the tenant's keys are untouched.
    assert_eq!(count("users"), 1);
    assert_eq!(
        env.send("GET", "/t/demo/.well-known/jwks.json", &[], b"", "x").json()["keys"].as_array().unwrap().len(),
        1
    );
}
