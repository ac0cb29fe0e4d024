//! The security review's findings (one test each, every one seen failing
//! before its fix): the origin comes from configuration, not the Host
//! header; a password change, reset or block ends the user's grants; refresh
//! families have an absolute lifetime; a management token cannot grant what
//! it does not hold; revocation wins over an in-flight grant; consent is per
//! API; CSRF tokens are bound to the session; narrowing a refresh keeps the
//! grant's scope.

use super::native_host_support::*;
use super::oauth::{pkce, setup, Setup, API};

fn reset_page_csrf(env: &Env, host: &str) -> (String, String) {
    let r = env.send_as(host, "GET", "/t/demo/password-reset", &[], b"");
    assert_eq!(r.status, 200, "{}", r.body);
    let cookie = r.set_cookies().into_iter().find(|c| c.starts_with("tessera_csrf=")).unwrap();
    (cookie.split(';').next().unwrap().to_string(), r.hidden("csrf_token"))
}

fn request_reset(env: &Env, host: &str, email: &str) -> Resp {
    let (cookie, token) = reset_page_csrf(env, host);
    let body = format!("csrf_token={token}&email={email}");
    env.send_as(
        host,
        "POST",
        "/t/demo/password-reset",
        &[("cookie", &cookie), ("content-type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
}

#[test]
fn the_host_header_cannot_choose_the_origin() {
    let env = Env::new();
    env.tenant("demo");
    env.signup_verified("demo", "ana@example.com", "correct horse battery");
    let mails = env.mailbox("ana@example.com").len();

    // Without PUBLIC_URL only loopback is canonical: a forged Host is refused
    // before any page, mail or discovery document is made from it.
    let r = env.send_as("evil.example", "GET", "/t/demo/password-reset", &[], b"");
    assert_eq!(r.status, 421, "{}", r.body);
    let r = env.send_as("evil.example", "GET", "/t/demo/.well-known/openid-configuration", &[], b"");
    assert_eq!(r.status, 421);
    assert_eq!(r.header("content-type"), "application/problem+json");
    assert_eq!(env.send_as("evil.example", "GET", "/api/v1/internal/tenants", &[], b"").status, 421);
    let ok = env.send_as("127.0.0.1:8787", "GET", "/t/demo/.well-known/openid-configuration", &[], b"");
    assert_eq!(ok.json()["issuer"], "http://127.0.0.1:8787/t/demo");

    // With PUBLIC_URL, it alone is: issuer, discovery and mailed links come
    // from it, and every other host (loopback too) is refused.
    env.host.set_var("PUBLIC_URL", "https://id.example.test/");
    let d = env.send_as("id.example.test", "GET", "/t/demo/.well-known/openid-configuration", &[], b"");
    assert_eq!(d.status, 200, "{}", d.body);
    assert_eq!(d.json()["issuer"], "https://id.example.test/t/demo");
    assert_eq!(d.json()["token_endpoint"], "https://id.example.test/t/demo/oauth/token");
    for host in ["evil.example", "127.0.0.1:8787", "id.example.test:8443"] {
        assert_eq!(request_reset_status(&env, host), 421, "{host}");
    }
    let r = request_reset(&env, "id.example.test", "ana%40example.com");
    assert_eq!(r.status, 200, "{}", r.body);
    // (The helpers read the mailbox on the loopback origin.)
    env.host.set_var("PUBLIC_URL", "");
    let mail = env.mailbox("ana@example.com");
    assert_eq!(mail.len(), mails + 1, "one mail, and none for the refused hosts");
    let text = mail[0]["text"].as_str().unwrap().to_string();
    env.host.set_var("PUBLIC_URL", "https://id.example.test/");
    assert!(text.contains("https://id.example.test/t/demo/password-reset/confirm?token="), "{text}");
    // The platform API reports issuers from the canonical origin too.
    let t = env.send_as(
        "id.example.test",
        "GET",
        "/api/v1/internal/tenants/demo",
        &[("authorization", &format!("Bearer {PLATFORM_KEY}"))],
        b"",
    );
    assert_eq!(t.json()["issuer"], "https://id.example.test/t/demo");
    // A malformed PUBLIC_URL is the operator's error, reported, not guessed around.
    env.host.set_var("PUBLIC_URL", "id.example.test/base");
    assert_eq!(env.send_as("id.example.test", "GET", "/t/demo/login", &[], b"").status, 500);
    // Health checks answer on any name.
    assert_eq!(env.send_as("10.1.2.3", "GET", "/healthz", &[], b"").status, 200);
}

fn request_reset_status(env: &Env, host: &str) -> u16 {
    // The form cannot even be fetched on a refused host; post blind.
    let r = env.send_as(
        host,
        "POST",
        "/t/demo/password-reset",
        &[("content-type", "application/x-www-form-urlencoded")],
        b"email=ana%40example.com",
    );
    r.status
}

#[test]
fn a_body_declared_too_large_is_refused_by_its_length() {
    let env = Env::new();
    env.tenant("demo");
    let r = env.send(
        "POST",
        "/t/demo/signup",
        &[("content-type", "application/x-www-form-urlencoded"), ("content-length", "104857600")],
        b"",
        "192.0.2.7",
    );
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.header("content-type").starts_with("text/html"));
    let r = env.api("POST", "/t/demo/api/v1/users", "x", None);
    assert_eq!(r.status, 401, "a small body is read as usual");
}

#[test]
fn an_incomplete_production_configuration_is_refused_from_the_first_request() {
    let env = Env::new();
    env.tenant("demo");
    env.host.set_var("DEV_MODE", "");
    let h = env.send("GET", "/healthz", &[], b"", "x");
    assert_eq!(h.status, 503, "{}", h.body);
    for name in ["PUBLIC_URL", "EMAIL_API_URL", "EMAIL_FROM", "EMAIL_API_KEY"] {
        assert!(h.body.contains(name), "{name}: {}", h.body);
    }
    // Every route is refused (in its own format), not only mail.
    let r = env.send("GET", "/t/demo/login", &[], b"", "x");
    assert_eq!(r.status, 503);
    assert!(r.header("content-type").starts_with("text/html"));
    assert_eq!(env.platform("GET", "/api/v1/internal/tenants", None).status, 503);
    assert!(env.host.errors.borrow().iter().any(|e| e.contains("EMAIL_API_KEY")), "the operator's log names it");
    // Complete, it serves; no secret value appears anywhere above.
    env.host.set_var("PUBLIC_URL", "http://127.0.0.1:8787");
    env.host.set_var("EMAIL_API_URL", "https://mail.example.test/emails");
    env.host.set_var("EMAIL_FROM", "login@example.test");
    env.host.set_secret("EMAIL_API_KEY", "re_supersecret");
    assert_eq!(env.send("GET", "/healthz", &[], b"", "x").status, 200);
    assert_eq!(env.send("GET", "/t/demo/login", &[], b"", "x").status, 200);
    assert!(env.host.errors.borrow().iter().all(|e| !e.contains("supersecret")));
}

#[test]
fn a_custom_domain_serves_its_own_tenant_only() {
    let env = Env::new();
    env.tenant("demo");
    env.tenant("evil");
    env.host.set_var("PUBLIC_URL", "https://id.example.test");
    let r =
        env.platform_as("POST", "/api/v1/internal/tenants/demo/domains", Some(json!({ "domain": "login.demo.test" })));
    assert_eq!(r.status, 201, "{}", r.body);
    let d = env.send_as("login.demo.test", "GET", "/.well-known/openid-configuration", &[], b"");
    assert_eq!(d.status, 200);
    assert_eq!(d.json()["issuer"], "https://login.demo.test");
    // Another tenant's pages, the tenant's own path mount, and the platform
    // API are not served on the domain.
    for path in
        ["/t/evil/login", "/t/demo/login", "/t/evil/.well-known/openid-configuration", "/api/v1/internal/tenants"]
    {
        let r =
            env.send_as("login.demo.test", "GET", path, &[("authorization", &format!("Bearer {PLATFORM_KEY}"))], b"");
        assert_eq!(r.status, 404, "{path}: {}", r.body);
    }
    assert_eq!(env.send_as("login.demo.test", "GET", "/login", &[], b"").status, 200);
}

impl Env {
    /// A platform call on the canonical origin `PUBLIC_URL` names.
    fn platform_as(&self, method: &str, uri: &str, body: Option<Value>) -> Resp {
        let auth = format!("Bearer {PLATFORM_KEY}");
        let b = body.map(|v| v.to_string()).unwrap_or_default();
        self.send_as(
            "id.example.test",
            method,
            uri,
            &[("authorization", &auth), ("content-type", "application/json")],
            b.as_bytes(),
        )
    }
}

/// A signed-in user's tokens with offline access, and a browser with a session.
fn signed_in_tokens(s: &Setup) -> (Browser, Value) {
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let q = s.code(&mut b, &challenge);
    let r = s.exchange(&q["code"], &verifier);
    assert_eq!(r.status, 200, "{}", r.body);
    (b, r.json())
}

fn refresh(s: &Setup, rt: &str) -> Resp {
    s.token(&[("grant_type", "refresh_token"), ("refresh_token", rt)])
}

fn introspect(s: &Setup, token: &str) -> Value {
    let r = s.form("/t/demo/oauth/introspect", &[("token", token)]);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

#[test]
fn a_password_change_ends_every_grant_of_the_user() {
    let s = setup();
    let (_, t) = signed_in_tokens(&s);
    let rt = t["refresh_token"].as_str().unwrap();
    let at = t["access_token"].as_str().unwrap();
    // A code handed out but not yet redeemed when the password changes.
    let mut b2 = Browser::default();
    let (v2, c2) = pkce();
    let pending = s.code(&mut b2, &c2);

    let r = s.env.api(
        "PATCH",
        &format!("/t/demo/api/v1/users/{}", s.user_id),
        &s.key,
        Some(json!({ "password": "a brand new passphrase" })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = refresh(&s, rt);
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["error"], "invalid_grant");
    assert_eq!(s.userinfo(at).status, 401);
    assert_eq!(introspect(&s, at)["active"], false);
    assert_eq!(s.exchange(&pending["code"], &v2).status, 400, "an outstanding code dies too");
}

#[test]
fn a_password_reset_ends_every_grant_of_the_user() {
    let s = setup();
    let (_, t) = signed_in_tokens(&s);
    let rt = t["refresh_token"].as_str().unwrap();
    let mut b = Browser::default();
    let r = s.env.submit(&mut b, "/t/demo/password-reset", "/t/demo/password-reset", &[("email", "ana@example.com")]);
    assert_eq!(r.status, 200);
    let link = s.env.link_in_mail("ana@example.com");
    let token = link.split("token=").nth(1).unwrap().to_string();
    let r = s.env.submit(
        &mut b,
        &link,
        "/t/demo/password-reset/confirm",
        &[("token", &token), ("password", "a brand new passphrase")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(refresh(&s, rt).status, 400);
    assert_eq!(introspect(&s, rt)["active"], false);
}

#[test]
fn a_blocked_user_has_no_live_tokens() {
    let s = setup();
    let (_, t) = signed_in_tokens(&s);
    let (rt, at) = (t["refresh_token"].as_str().unwrap(), t["access_token"].as_str().unwrap());
    assert_eq!(introspect(&s, rt)["active"], true);
    assert_eq!(introspect(&s, at)["active"], true);
    let r = s.env.api("POST", &format!("/t/demo/api/v1/users/{}/block", s.user_id), &s.key, None);
    assert_eq!(r.status, 200);
    assert_eq!(introspect(&s, rt)["active"], false);
    assert_eq!(introspect(&s, at)["active"], false);
    assert_eq!(s.userinfo(at).status, 401);
    // Unblocking does not bring them back.
    s.env.api("POST", &format!("/t/demo/api/v1/users/{}/unblock", s.user_id), &s.key, None);
    assert_eq!(refresh(&s, rt).status, 400);
    assert_eq!(introspect(&s, at)["active"], false);
}

#[test]
fn refresh_families_have_an_absolute_lifetime() {
    let s = setup();
    let r = s.env.api(
        "PATCH",
        &format!("/t/demo/api/v1/clients/{}", s.client_id),
        &s.key,
        Some(json!({ "refresh_token_ttl": 3600, "refresh_token_absolute_ttl": 7200 })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["refresh_token_absolute_ttl"], 7200);
    let (_, t) = signed_in_tokens(&s);
    let grant = T0 / 1000;
    let mut rt = t["refresh_token"].as_str().unwrap().to_string();
    // Used every 50 minutes, the token never goes idle for its hour...
    for _ in 0..2 {
        s.env.host.clock.advance(50 * 60_000);
        let r = refresh(&s, &rt);
        assert_eq!(r.status, 200, "{}", r.body);
        rt = r.json()["refresh_token"].as_str().unwrap().to_string();
    }
    // ...but the family ends two hours after the grant, however it rotates.
    let exp = introspect(&s, &rt)["exp"].as_i64().unwrap();
    assert_eq!(exp, grant + 7200, "rotation caps the expiry at the absolute lifetime");
    s.env.host.clock.advance(21 * 60_000);
    let r = refresh(&s, &rt);
    assert_eq!(r.status, 400, "{}", r.body);
    // Out-of-range settings are refused.
    let r = s.env.api(
        "PATCH",
        &format!("/t/demo/api/v1/clients/{}", s.client_id),
        &s.key,
        Some(json!({ "refresh_token_absolute_ttl": 10 })),
    );
    assert_eq!(r.status, 400);
}

#[test]
fn narrowing_a_refresh_keeps_the_grants_scope_on_the_refresh_token() {
    let s = setup();
    let (_, t) = signed_in_tokens(&s);
    let r = s.token(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ("scope", "openid"),
    ]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["scope"], "openid");
    let r = refresh(&s, r.json()["refresh_token"].as_str().unwrap());
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["scope"], "openid profile email offline_access", "RFC 6749 §6: the grant's scope");
}

/// A client-credentials token for the management API with `scopes`.
fn management_token(s: &Setup, scopes: &[&str]) -> (String, String) {
    let r = s.env.api(
        "POST",
        "/t/demo/api/v1/clients",
        &s.key,
        Some(json!({ "name": "bot", "grant_types": ["client_credentials"], "audiences": ["urn:tessera:management"], "scopes": scopes })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let (id, secret) =
        (r.json()["client_id"].as_str().unwrap().to_string(), r.json()["client_secret"].as_str().unwrap().to_string());
    let t = s.token_as(&id, &secret, &[("grant_type", "client_credentials"), ("audience", "urn:tessera:management")]);
    assert_eq!(t.status, 200, "{}", t.body);
    (t.json()["access_token"].as_str().unwrap().to_string(), id)
}

#[test]
fn a_management_token_cannot_grant_what_it_does_not_hold() {
    let s = setup();
    let (at, own_id) = management_token(&s, &["write:clients", "read:clients"]);
    let mgmt = |scopes: &[&str]| json!({ "name": "x", "grant_types": ["client_credentials"], "audiences": ["urn:tessera:management"], "scopes": scopes });
    // A client with a scope the caller lacks, through create or update.
    let r = s.env.api("POST", "/t/demo/api/v1/clients", &at, Some(mgmt(&["write:users"])));
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.header("content-type"), "application/problem+json");
    let r = s.env.api(
        "PATCH",
        &format!("/t/demo/api/v1/clients/{own_id}"),
        &at,
        Some(json!({ "scopes": ["write:clients", "read:clients", "read:logs"] })),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // Adding the management audience to a client whose scopes name a
    // management scope the caller lacks.
    let r = s.env.api(
        "PATCH",
        &format!("/t/demo/api/v1/clients/{}", s.client_id),
        &at,
        Some(json!({ "scopes": ["openid", "write:users"] })),
    );
    assert_eq!(r.status, 200, "not a management client: the scope grants nothing");
    let r = s.env.api(
        "PATCH",
        &format!("/t/demo/api/v1/clients/{}", s.client_id),
        &at,
        Some(json!({ "audiences": [API, "urn:tessera:management"] })),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // Taking over a more powerful client by rotating its secret, or changing it.
    let (_, admin_bot) = management_token(&s, &["write:users", "write:clients"]);
    let r = s.env.api("POST", &format!("/t/demo/api/v1/clients/{admin_bot}/rotate-secret"), &at, None);
    assert_eq!(r.status, 403, "{}", r.body);
    let r = s.env.api("PATCH", &format!("/t/demo/api/v1/clients/{admin_bot}"), &at, Some(json!({ "name": "mine" })));
    assert_eq!(r.status, 403);
    assert_eq!(s.env.api("DELETE", &format!("/t/demo/api/v1/clients/{admin_bot}"), &at, None).status, 403);
    // What it holds it may grant, and ordinary clients are unaffected.
    assert_eq!(s.env.api("POST", "/t/demo/api/v1/clients", &at, Some(mgmt(&["read:clients"]))).status, 201);
    let r = s.env.api(
        "POST",
        "/t/demo/api/v1/clients",
        &at,
        Some(json!({ "name": "web", "redirect_uris": ["https://app.example.test/cb"] })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    // A management API key holds every scope.
    assert_eq!(s.env.api("POST", "/t/demo/api/v1/clients", &s.key, Some(mgmt(&["write:admins"]))).status, 201);
}

#[test]
fn write_users_cannot_make_or_take_over_an_administrator() {
    let s = setup();
    let (at, _) = management_token(&s, &["write:users", "read:users"]);
    let r = s.env.api(
        "POST",
        "/t/demo/api/v1/users",
        &at,
        Some(json!({ "email": "boss@example.com", "password": "long enough pw", "is_admin": true })),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let user = format!("/t/demo/api/v1/users/{}", s.user_id);
    assert_eq!(s.env.api("PATCH", &user, &at, Some(json!({ "is_admin": true }))).status, 403);
    // An existing administrator's password, email and block are out of reach.
    s.env.api("PATCH", &user, &s.key, Some(json!({ "is_admin": true })));
    for patch in [json!({ "password": "attacker chosen pw" }), json!({ "email": "mine@evil.example" })] {
        let r = s.env.api("PATCH", &user, &at, Some(patch));
        assert_eq!(r.status, 403, "{}", r.body);
    }
    assert_eq!(s.env.api("POST", &format!("{user}/block"), &at, None).status, 403);
    assert_eq!(s.env.api("DELETE", &user, &at, None).status, 403);
    assert_eq!(s.env.login(&mut Browser::default(), "demo", "ana@example.com", "correct horse battery").status, 303);
    // Ordinary users stay writable; write:admins opens the rest.
    let r = s.env.api("POST", "/t/demo/api/v1/users", &at, Some(json!({ "email": "bo@example.com" })));
    assert_eq!(r.status, 201, "{}", r.body);
    let (admin_at, _) = management_token(&s, &["write:users", "write:admins"]);
    assert_eq!(s.env.api("PATCH", &user, &admin_at, Some(json!({ "is_admin": false }))).status, 200);
}

/// Commits `statements` between the grant's checks and its writes.
fn commit_before_the_tokens(s: &Setup, statements: Vec<tessera_core::host::Statement>) {
    s.env.host.db.before_next_batch(move |conn| {
        for st in statements {
            let params: Vec<rusqlite::types::Value> = st.params.iter().map(tessera_native::to_sql).collect();
            conn.execute(&st.sql, rusqlite::params_from_iter(params)).unwrap();
        }
    });
}

fn tenant_id(s: &Setup) -> tessera_core::types::TenantId {
    tessera_core::types::TenantId(
        s.env.platform("GET", "/api/v1/internal/tenants/demo", None).json()["id"].as_str().unwrap().into(),
    )
}

fn count(s: &Setup, sql: &str) -> i64 {
    s.env.host.db.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_revocation_committed_mid_grant_wins() {
    let s = setup();
    let tenant = tenant_id(&s);
    let user = tessera_core::types::UserId(s.user_id.clone());
    let now = T0;

    // A code exchange whose user's grants end (password change) after the
    // code was redeemed but before the tokens are stored.
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let q = s.code(&mut b, &challenge);
    let tokens_before = count(&s, "SELECT COUNT(*) FROM oauth_tokens");
    let successes = count(&s, "SELECT COUNT(*) FROM audit_events WHERE type = 'seacft'");
    commit_before_the_tokens(&s, tessera_core::oauth::tokens::revoke_user(&tenant, &user, None, now));
    let r = s.exchange(&q["code"], &verifier);
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["error"], "invalid_grant");
    assert_eq!(count(&s, "SELECT COUNT(*) FROM oauth_tokens"), tokens_before, "nothing was stored");
    assert_eq!(count(&s, "SELECT COUNT(*) FROM audit_events WHERE type = 'seacft'"), successes, "no success event");
    assert!(count(&s, "SELECT COUNT(*) FROM audit_events WHERE type = 'feacft'") >= 1);

    // A refresh whose family is revoked (reuse detected elsewhere) mid-grant.
    let (_, t) = signed_in_tokens(&s);
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    let family: String = s
        .env
        .host
        .db
        .conn()
        .query_row("SELECT family_id FROM oauth_tokens WHERE kind = 'refresh' AND revoked_at IS NULL", [], |r| r.get(0))
        .unwrap();
    let demo = tessera_core::tenant::TenantCtx::new(
        tessera_core::tenant::Tenant {
            id: tenant.clone(),
            slug: "demo".into(),
            name: "demo".into(),
            settings: Default::default(),
            created_at: 0,
            updated_at: 0,
        },
        "http://127.0.0.1:8787",
        false,
    );
    commit_before_the_tokens(&s, tessera_core::oauth::tokens::revoke_family(&demo, &family, now));
    let r = refresh(&s, &rt);
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM oauth_tokens WHERE revoked_at IS NULL AND user_id IS NOT NULL"), 0);

    // A refresh whose consent is withdrawn mid-grant (the consent row alone:
    // the insert checks it by itself, not only through the parent).
    let (_, t) = signed_in_tokens(&s);
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    let tokens_before = count(&s, "SELECT COUNT(*) FROM oauth_tokens");
    commit_before_the_tokens(
        &s,
        vec![tessera_core::host::Statement::new(
            "DELETE FROM oauth_consents WHERE tenant_id = ?1 AND user_id = ?2",
            vec![tenant.as_str().into(), user.as_str().into()],
        )],
    );
    assert_eq!(refresh(&s, &rt).status, 400);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM oauth_tokens"), tokens_before, "no token of the withdrawn grant");
}

#[test]
fn consent_to_one_api_does_not_cover_the_same_scope_on_another() {
    let s = setup();
    let other = "https://other-api.example.test";
    let r = s.env.api(
        "POST",
        "/t/demo/api/v1/resource-servers",
        &s.key,
        Some(json!({ "identifier": other, "name": "Payroll API", "scopes": ["read:things"] })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    s.env.api(
        "PATCH",
        &format!("/t/demo/api/v1/clients/{}", s.client_id),
        &s.key,
        Some(json!({ "audiences": [API, other] })),
    );
    let mut b = Browser::default();
    assert_eq!(s.env.login(&mut b, "demo", "ana@example.com", "correct horse battery").status, 303);
    let (_, challenge) = pkce();
    let ask = |audience: &str, b: &mut Browser| {
        let q: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("client_id", s.client_id.as_str()),
                ("redirect_uri", super::oauth::CB),
                ("response_type", "code"),
                ("scope", "openid read:things"),
                ("audience", audience),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ])
            .finish();
        s.env.get(b, &format!("/t/demo/authorize?{q}"))
    };
    let page = ask(API, &mut b);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("on Things API"), "the consent page names the API: {}", page.body);
    let token = page.hidden("csrf_token");
    let request = page.hidden("request");
    let r = s.env.post_form(
        &mut b,
        "/t/demo/consent",
        &[("csrf_token", &token), ("request", &request), ("decision", "allow")],
    );
    assert_eq!(r.status, 303);
    assert_eq!(ask(API, &mut b).status, 303, "consented for the Things API");
    let page = ask(other, &mut b);
    assert_eq!(page.status, 200, "the same scope on another API asks again");
    assert!(page.body.contains("on Payroll API"));
    let listed = s.env.api("GET", &format!("/t/demo/api/v1/users/{}/consents", s.user_id), &s.key, None).json();
    assert_eq!(listed["consents"][0]["scopes"], json!(["openid"]));
    assert_eq!(listed["consents"][0]["api_scopes"], json!([{ "audience": API, "scope": "read:things" }]));
}

#[test]
fn a_planted_csrf_cookie_is_worthless_against_a_signed_in_user() {
    let s = setup();
    let (mut victim, _) = signed_in_tokens(&s);
    // The attacker fetches a (cookie, token) pair for themselves...
    let mut attacker = Browser::default();
    let page = s.env.get(&mut attacker, "/t/demo/login");
    let planted = attacker.cookies["tessera_csrf"].clone();
    let token = page.hidden("csrf_token");
    // ...plants the cookie in the victim's browser (a sibling subdomain can)
    // and has the victim post a forged form.
    victim.cookies.insert("tessera_csrf".into(), planted);
    let r = s.env.post_form(
        &mut victim,
        "/t/demo/account/consents/revoke",
        &[("csrf_token", &token), ("client_id", &s.client_id)],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let listed = s.env.api("GET", &format!("/t/demo/api/v1/users/{}/consents", s.user_id), &s.key, None).json();
    assert_eq!(listed["consents"].as_array().unwrap().len(), 1, "nothing changed");
    // The victim's own page still works.
    let r =
        s.env.submit(&mut victim, "/t/demo/account", "/t/demo/account/consents/revoke", &[("client_id", &s.client_id)]);
    assert_eq!(r.status, 303);
}

/// Every row of the tables a form could change, to compare before and after.
fn snapshot(env: &Env) -> String {
    let conn = env.host.db.conn();
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN
             ('audit_events', 'event_outbox', 'kv_cache', 'd1_migrations', 'sqlite_sequence')
             ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut out = String::new();
    for t in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {t} ORDER BY rowid")).unwrap();
        let n = stmt.column_count();
        let rows: Vec<String> = stmt
            .query_map([], |r| Ok((0..n).map(|i| format!("{:?}", r.get_ref(i).unwrap())).collect::<Vec<_>>().join("|")))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        out.push_str(&format!("{t}:{}\n", rows.join(";")));
    }
    out
}

#[test]
fn every_html_form_refuses_a_missing_or_forged_csrf_token_and_changes_nothing() {
    use tessera_core::web::router::{Scope, Surface, ROUTES};
    let s = setup();
    s.env.api("PATCH", &format!("/t/demo/api/v1/users/{}", s.user_id), &s.key, Some(json!({ "is_admin": true })));
    let (mut b, _) = signed_in_tokens(&s);
    let before = snapshot(&s.env);
    let forms: Vec<_> = ROUTES
        .iter()
        .filter(|r| r.scope == Scope::Tenant && r.surface == Surface::Html && r.method == "POST")
        .collect();
    assert!(forms.len() >= 14, "every hosted form is covered: {}", forms.len());
    for route in forms {
        let path = format!("/t/demo{}", route.path.replace("{client_id}", &s.client_id));
        let fields = [
            ("email", "ana@example.com"),
            ("password", "correct horse battery"),
            ("name", "x"),
            ("token", "x"),
            ("request", "x"),
            ("decision", "allow"),
            ("client_id", s.client_id.as_str()),
            ("user_id", s.user_id.as_str()),
        ];
        for token in [None, Some("forged-token")] {
            let mut all: Vec<(&str, &str)> = fields.to_vec();
            if let Some(t) = token {
                all.push(("csrf_token", t));
            }
            let r = s.env.post_form(&mut b, &path, &all);
            assert_eq!(r.status, 403, "{} {path} with {token:?}: {}", route.method, r.body);
        }
    }
    assert_eq!(snapshot(&s.env), before, "no form changed anything");
}
