//! Behaviours the first suites left untested (issue #19): introspection and
//! revocation by other clients, the refresh grace window's end, consent
//! withdrawn from each place it can be, and the lockout counter's reset.

use super::native_host_support::*;
use super::oauth::{pkce, setup, Setup, API, CB};
use base64::Engine;

fn client(s: &Setup, spec: Value) -> (String, String) {
    let r = s.env.api("POST", "/t/demo/api/v1/clients", &s.key, Some(spec));
    assert_eq!(r.status, 201, "{}", r.body);
    (r.json()["client_id"].as_str().unwrap().to_string(), r.json()["client_secret"].as_str().unwrap_or("").to_string())
}

fn post_as(s: &Setup, id: &str, secret: &str, path: &str, fields: &[(&str, &str)]) -> Resp {
    let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let auth = format!("Basic {basic}");
    let mut h = vec![("content-type", "application/x-www-form-urlencoded")];
    if !secret.is_empty() {
        h.push(("authorization", &auth));
    }
    s.env.send("POST", path, &h, body.as_bytes(), "10.0.0.3")
}

fn grant(s: &Setup, b: &mut Browser) -> Value {
    let (verifier, challenge) = pkce();
    let q = s.code(b, &challenge);
    let r = s.exchange(&q["code"], &verifier);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

#[test]
fn introspection_and_revocation_by_other_clients() {
    let s = setup();
    // A token for the API, issued to the web app.
    let at = s.token(&[("grant_type", "client_credentials"), ("audience", API)]).json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (other, other_secret) =
        client(&s, json!({ "name": "Other", "grant_types": ["client_credentials"], "audiences": [], "scopes": [] }));
    let (api_client, api_secret) = client(
        &s,
        json!({ "name": "Resource server", "grant_types": ["client_credentials"], "audiences": [API], "scopes": [] }),
    );
    let (public, _) = client(&s, json!({ "name": "SPA", "client_type": "public", "redirect_uris": [CB] }));
    let introspect = |id: &str, secret: &str, token: &str| {
        post_as(&s, id, secret, "/t/demo/oauth/introspect", &[("token", token), ("client_id", id)])
    };
    // Another client learns nothing; the API the token is for may see it.
    assert_eq!(introspect(&other, &other_secret, &at).json(), json!({ "active": false }));
    let seen = introspect(&api_client, &api_secret, &at).json();
    assert_eq!(seen["active"], true);
    assert_eq!(seen["aud"], API);
    // A public client cannot introspect at all.
    let r = introspect(&public, "", &at);
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["error"], "unauthorized_client");
    // Revocation by a client the token was not issued to leaves it alive
    // (and still answers 200, RFC 7009 §2.2).
    let r = post_as(&s, &other, &other_secret, "/t/demo/oauth/revoke", &[("token", &at)]);
    assert_eq!(r.status, 200);
    let r = post_as(&s, &api_client, &api_secret, "/t/demo/oauth/revoke", &[("token", &at)]);
    assert_eq!(r.status, 200);
    assert_eq!(s.form("/t/demo/oauth/introspect", &[("token", &at)]).json()["active"], true, "still alive");
    // Its own client can.
    assert_eq!(s.form("/t/demo/oauth/revoke", &[("token", &at)]).status, 200);
    assert_eq!(s.form("/t/demo/oauth/introspect", &[("token", &at)]).json()["active"], false);
}

#[test]
fn reuse_after_the_grace_window_revokes_the_whole_family() {
    let s = setup();
    s.env.api(
        "PATCH",
        &format!("/t/demo/api/v1/clients/{}", s.client_id),
        &s.key,
        Some(json!({ "refresh_grace_seconds": 30 })),
    );
    let t = grant(&s, &mut Browser::default());
    let rt = t["refresh_token"].as_str().unwrap().to_string();
    let next = s.token(&[("grant_type", "refresh_token"), ("refresh_token", &rt)]).json();
    let rt2 = next["refresh_token"].as_str().unwrap().to_string();
    let at2 = next["access_token"].as_str().unwrap().to_string();
    s.env.host.clock.advance(31_000);
    let reuse = s.token(&[("grant_type", "refresh_token"), ("refresh_token", &rt)]);
    assert_eq!(reuse.status, 400);
    // Not just refused: the newest tokens of the family died with it.
    assert_eq!(s.token(&[("grant_type", "refresh_token"), ("refresh_token", &rt2)]).status, 400);
    assert_eq!(s.userinfo(&at2).status, 401);
}

#[test]
fn consent_withdrawn_anywhere_ends_the_refresh_token() {
    let s = setup();
    s.env.api("PATCH", &format!("/t/demo/api/v1/users/{}", s.user_id), &s.key, Some(json!({ "is_admin": true })));
    let refresh_fails = |rt: &str| s.token(&[("grant_type", "refresh_token"), ("refresh_token", rt)]).status == 400;

    // From the account page.
    let mut b = Browser::default();
    let t = grant(&s, &mut b);
    let r = s.env.submit(&mut b, "/t/demo/account", "/t/demo/account/consents/revoke", &[("client_id", &s.client_id)]);
    assert_eq!(r.status, 303);
    assert!(refresh_fails(t["refresh_token"].as_str().unwrap()), "account page");

    // From the admin UI.
    let t = grant(&s, &mut b);
    let page = format!("/t/demo/admin/clients/{}", s.client_id);
    let r = s.env.submit(&mut b, &page, &format!("{page}/consents/revoke"), &[("user_id", &s.user_id)]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Consent revoked"));
    assert!(refresh_fails(t["refresh_token"].as_str().unwrap()), "admin UI");

    // Through the management API.
    let t = grant(&s, &mut b);
    let r = s.env.api("DELETE", &format!("/t/demo/api/v1/users/{}/consents/{}", s.user_id, s.client_id), &s.key, None);
    assert_eq!(r.status, 204);
    assert!(refresh_fails(t["refresh_token"].as_str().unwrap()), "management API");
}

#[test]
fn the_lockout_counter_is_cleared_by_a_login_and_by_a_reset() {
    let env = Env::new();
    env.tenant("demo");
    env.signup_verified("demo", "ana@example.com", "correct horse battery");
    let mut b = Browser::default();
    let fail = |b: &mut Browser, n: usize| {
        for _ in 0..n {
            assert_eq!(env.login(b, "demo", "ana@example.com", "wrong").status, 401);
        }
    };
    // Four failures, a success, four more: no lock (the threshold is five).
    fail(&mut b, 4);
    assert_eq!(env.login(&mut b, "demo", "ana@example.com", "correct horse battery").status, 303);
    let mut b = Browser::default();
    fail(&mut b, 4);
    assert_eq!(env.login(&mut b, "demo", "ana@example.com", "correct horse battery").status, 303);
    // Locked by five failures, then a reset clears it.
    let mut b = Browser::default();
    fail(&mut b, 4);
    assert_eq!(env.login(&mut b, "demo", "ana@example.com", "wrong").status, 429);
    let r = env.submit(&mut b, "/t/demo/password-reset", "/t/demo/password-reset", &[("email", "ana@example.com")]);
    assert_eq!(r.status, 200);
    let link = env.link_in_mail("ana@example.com");
    let token = link.split("token=").nth(1).unwrap().to_string();
    let r = env.submit(
        &mut b,
        &link,
        "/t/demo/password-reset/confirm",
        &[("token", &token), ("password", "a new passphrase")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(env.login(&mut Browser::default(), "demo", "ana@example.com", "a new passphrase").status, 303);
}

/// An ID token for `email` (signed in in `b`) from the web app of `s`.
fn id_token(s: &Setup, b: &mut Browser) -> String {
    let t = grant(s, b);
    t["id_token"].as_str().unwrap().to_string()
}

fn logout(s: &Setup, b: &mut Browser, params: &[(&str, &str)]) -> Resp {
    let q: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
    s.env.get(b, &format!("/t/demo/logout?{q}"))
}

#[test]
fn rp_initiated_logout_checks_its_hint() {
    let s = setup();
    // Ana is signed in; Bo's ID token is at hand.
    let mut ana = Browser::default();
    let ana_hint = id_token(&s, &mut ana);
    s.env.api(
        "POST",
        "/t/demo/api/v1/users",
        &s.key,
        Some(json!({ "email": "bo@example.com", "password": "correct horse battery", "email_verified": true })),
    );
    let mut bo = Browser::default();
    assert_eq!(s.env.login(&mut bo, "demo", "bo@example.com", "correct horse battery").status, 303);
    let bo_hint = id_token(&s, &mut bo);
    let signed_in = |b: &mut Browser| s.env.get(b, "/t/demo/account").status == 200;

    // Another user's hint: a confirmation page, and the session stays.
    let r = logout(&s, &mut ana, &[("id_token_hint", &bo_hint)]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Do you want to sign out?"));
    assert!(signed_in(&mut ana));
    // No hint at all: the same.
    assert_eq!(logout(&s, &mut ana, &[]).status, 200);
    assert!(signed_in(&mut ana));
    // A forged hint (payload changed, signature kept) is refused.
    let parts: Vec<&str> = ana_hint.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("usr_someone_else");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    assert_eq!(logout(&s, &mut ana, &[("id_token_hint", &forged)]).status, 400);
    // A client_id that is not the hint's audience is refused.
    let r = logout(&s, &mut ana, &[("id_token_hint", &ana_hint), ("client_id", "someone-else")]);
    assert_eq!(r.status, 400);
    assert!(signed_in(&mut ana), "no refused request ended the session");
    // Another tenant's ID token is no hint here.
    let other_key = s.env.tenant("other");
    let c = s.env.api(
        "POST",
        "/t/other/api/v1/clients",
        &other_key,
        Some(json!({ "name": "Other app", "redirect_uris": [CB], "first_party": true })),
    );
    let (oid, osecret) =
        (c.json()["client_id"].as_str().unwrap().to_string(), c.json()["client_secret"].as_str().unwrap().to_string());
    s.env.api(
        "POST",
        "/t/other/api/v1/users",
        &other_key,
        Some(json!({ "email": "ana@example.com", "password": "correct horse battery", "email_verified": true })),
    );
    let mut elsewhere = Browser::default();
    assert_eq!(s.env.login(&mut elsewhere, "other", "ana@example.com", "correct horse battery").status, 303);
    let (verifier, challenge) = pkce();
    let q: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", oid.as_str()),
            ("redirect_uri", CB),
            ("response_type", "code"),
            ("scope", "openid"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    let r = s.env.get(&mut elsewhere, &format!("/t/other/authorize?{q}"));
    let code = super::oauth::query_of(r.header("location"))["code"].clone();
    let t = post_as(
        &s,
        &oid,
        &osecret,
        "/t/other/oauth/token",
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB), ("code_verifier", &verifier)],
    );
    assert_eq!(t.status, 200, "{}", t.body);
    let other_hint = t.json()["id_token"].as_str().unwrap().to_string();
    assert_eq!(logout(&s, &mut ana, &[("id_token_hint", &other_hint)]).status, 400);
    // The user's own hint ends the session at once.
    let r = logout(&s, &mut ana, &[("id_token_hint", &ana_hint)]);
    assert_eq!(r.status, 303);
    assert!(!signed_in(&mut ana));
}

fn count(env: &Env, sql: &str) -> i64 {
    env.host.db.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

fn maintain(env: &Env) -> Value {
    let r = env.platform("POST", "/api/v1/internal/maintenance", None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

#[test]
fn maintenance_keeps_what_still_decides_something() {
    let s = setup();
    let env = &s.env;
    // Tokens (access: an hour; refresh: 30 days) and an unredeemed code.
    let t = grant(&s, &mut Browser::default());
    let (_, challenge) = pkce();
    let mut b = Browser::default();
    let unredeemed = s.code(&mut b, &challenge);
    assert!(unredeemed.contains_key("code"));
    // A locked account.
    let mut m = Browser::default();
    for _ in 0..5 {
        env.login(&mut m, "demo", "ana@example.com", "wrong");
    }
    assert_eq!(env.login(&mut m, "demo", "ana@example.com", "correct horse battery").status, 429);
    let outbox = count(env, "SELECT COUNT(*) FROM event_outbox WHERE delivered_at IS NULL");
    assert!(outbox > 0);

    // Five minutes on: the lock is still active and survives maintenance.
    env.host.clock.advance(5 * 60_000);
    maintain(env);
    assert_eq!(env.login(&mut m, "demo", "ana@example.com", "correct horse battery").status, 429, "still locked");

    // Two hours on, the access token and the code have expired, but are kept
    // a day for replay detection.
    env.host.clock.advance(2 * 3_600_000);
    maintain(env);
    assert_eq!(count(env, "SELECT COUNT(*) FROM oauth_tokens WHERE kind = 'access'"), 1);
    assert_eq!(count(env, "SELECT COUNT(*) FROM oauth_codes"), 2);
    // A day later they go; the refresh token (30 days) and every undelivered
    // event stay.
    env.host.clock.advance(25 * 3_600_000);
    let r = maintain(env);
    assert_eq!(count(env, "SELECT COUNT(*) FROM oauth_tokens WHERE kind = 'access'"), 0, "{r}");
    assert_eq!(count(env, "SELECT COUNT(*) FROM oauth_codes"), 0, "{r}");
    assert_eq!(count(env, "SELECT COUNT(*) FROM oauth_tokens WHERE kind = 'refresh'"), 1);
    assert!(count(env, "SELECT COUNT(*) FROM event_outbox WHERE delivered_at IS NULL") >= outbox);
    let rt = t["refresh_token"].as_str().unwrap();
    assert_eq!(s.token(&[("grant_type", "refresh_token"), ("refresh_token", rt)]).status, 200);
}

#[test]
fn maintenance_applies_retention_across_more_than_a_page_of_tenants() {
    let env = Env::new();
    // 101 tenants: audit retention is applied a page (100) at a time.
    for i in 0..101 {
        env.tenant(&format!("t{i:03}"));
    }
    env.platform("PATCH", "/api/v1/internal/tenants/t100", Some(json!({ "settings": { "audit_retention_days": 7 } })));
    let mut b = Browser::default();
    assert_eq!(env.login(&mut b, "t100", "ghost@example.com", "wrong").status, 401);
    let tenant_events = || {
        count(&env, "SELECT COUNT(*) FROM audit_events a JOIN tenants t ON t.id = a.tenant_id WHERE t.slug = 't100'")
    };
    let platform_events = || count(&env, "SELECT COUNT(*) FROM audit_events WHERE tenant_id IS NULL");
    assert!(tenant_events() > 0 && platform_events() > 0);
    env.host.clock.advance(8 * 86_400_000);
    maintain(&env);
    assert_eq!(tenant_events(), 0, "the 101st tenant's retention was applied");
    assert!(platform_events() > 0, "platform events are kept 90 days");
    env.host.clock.advance(83 * 86_400_000);
    let before = platform_events();
    maintain(&env);
    // Only the maintenance calls of the last day remain.
    assert!(platform_events() < before);
    assert_eq!(
        count(
            &env,
            &format!(
                "SELECT COUNT(*) FROM audit_events WHERE tenant_id IS NULL AND created_at < {}",
                T0 + 2 * 86_400_000
            )
        ),
        0
    );
}

/// Every management route and the scope a token needs for it, by hand.
const MANAGEMENT_ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/api/v1/users", "read:users"),
    ("POST", "/api/v1/users", "write:users"),
    ("GET", "/api/v1/users/{user_id}", "read:users"),
    ("PATCH", "/api/v1/users/{user_id}", "write:users"),
    ("DELETE", "/api/v1/users/{user_id}", "write:users"),
    ("POST", "/api/v1/users/{user_id}/block", "write:users"),
    ("POST", "/api/v1/users/{user_id}/unblock", "write:users"),
    ("GET", "/api/v1/users/{user_id}/mfa", "read:users"),
    ("DELETE", "/api/v1/users/{user_id}/mfa", "write:users"),
    ("PUT", "/api/v1/users/{user_id}/mfa/totp", "write:users"),
    ("DELETE", "/api/v1/users/{user_id}/mfa/totp", "write:users"),
    ("DELETE", "/api/v1/users/{user_id}/mfa/email", "write:users"),
    ("GET", "/api/v1/users/{user_id}/consents", "read:users"),
    ("DELETE", "/api/v1/users/{user_id}/consents/{client_id}", "write:users"),
    ("GET", "/api/v1/logs", "read:logs"),
    ("GET", "/api/v1/clients", "read:clients"),
    ("POST", "/api/v1/clients", "write:clients"),
    ("GET", "/api/v1/clients/{client_id}", "read:clients"),
    ("PATCH", "/api/v1/clients/{client_id}", "write:clients"),
    ("DELETE", "/api/v1/clients/{client_id}", "write:clients"),
    ("POST", "/api/v1/clients/{client_id}/rotate-secret", "write:clients"),
    ("GET", "/api/v1/resource-servers", "read:resource_servers"),
    ("POST", "/api/v1/resource-servers", "write:resource_servers"),
    ("GET", "/api/v1/resource-servers/{api_id}", "read:resource_servers"),
    ("DELETE", "/api/v1/resource-servers/{api_id}", "write:resource_servers"),
    ("GET", "/api/v1/log-streams", "read:log_streams"),
    ("POST", "/api/v1/log-streams", "write:log_streams"),
    ("GET", "/api/v1/log-streams/{stream_id}", "read:log_streams"),
    ("PATCH", "/api/v1/log-streams/{stream_id}", "write:log_streams"),
    ("DELETE", "/api/v1/log-streams/{stream_id}", "write:log_streams"),
    ("POST", "/api/v1/log-streams/{stream_id}/pause", "write:log_streams"),
    ("POST", "/api/v1/log-streams/{stream_id}/resume", "write:log_streams"),
    ("POST", "/api/v1/log-streams/{stream_id}/test", "write:log_streams"),
    ("GET", "/api/v1/log-streams/{stream_id}/deliveries", "read:log_streams"),
    ("GET", "/api/v1/log-streams/{stream_id}/dead-letters", "read:log_streams"),
    ("POST", "/api/v1/log-streams/{stream_id}/dead-letters/redeliver", "write:log_streams"),
    ("POST", "/api/v1/log-streams/{stream_id}/dead-letters/{log_id}/redeliver", "write:log_streams"),
    ("GET", "/api/v1/actions", "read:actions"),
    ("POST", "/api/v1/actions", "write:actions"),
    ("GET", "/api/v1/actions/{action_id}", "read:actions"),
    ("PATCH", "/api/v1/actions/{action_id}", "write:actions"),
    ("DELETE", "/api/v1/actions/{action_id}", "write:actions"),
    ("POST", "/api/v1/actions/{action_id}/deploy", "write:actions"),
    ("GET", "/api/v1/actions/{action_id}/versions", "read:actions"),
    ("POST", "/api/v1/actions/{action_id}/versions/{version}/deploy", "write:actions"),
    ("POST", "/api/v1/actions/{action_id}/test", "write:actions"),
    ("GET", "/api/v1/actions/{action_id}/executions", "read:actions"),
    ("GET", "/api/v1/triggers", "read:actions"),
    ("GET", "/api/v1/triggers/{trigger}", "read:actions"),
    ("PUT", "/api/v1/triggers/{trigger}", "write:actions"),
    ("GET", "/api/v1/scim", "read:scim"),
    ("PATCH", "/api/v1/scim", "write:scim"),
    ("GET", "/api/v1/scim/tokens", "read:scim"),
    ("POST", "/api/v1/scim/tokens", "write:scim"),
    ("POST", "/api/v1/scim/tokens/{token_id}/rotate", "write:scim"),
    ("DELETE", "/api/v1/scim/tokens/{token_id}", "write:scim"),
];

fn concrete(path: &str, user: &str, client: &str, api: &str, stream: &str, action: &str) -> String {
    path.replace("{user_id}", user)
        .replace("{client_id}", client)
        .replace("{api_id}", api)
        .replace("{stream_id}", stream)
        .replace("{log_id}", "evt_missing")
        .replace("{action_id}", action)
        .replace("{version}", "1")
        .replace("{trigger}", "post-login")
        // Another tenant's token ids are refused by `scim.rs`'s own test.
        .replace("{token_id}", "sct_missing")
}

fn body_for(method: &str) -> Option<Value> {
    matches!(method, "POST" | "PATCH").then(|| json!({}))
}

#[test]
fn the_management_table_is_every_management_route() {
    use tessera_core::web::router::{Scope, Surface, ROUTES};
    let routes: Vec<_> = ROUTES
        .iter()
        .filter(|r| r.scope == Scope::Tenant && r.surface == Surface::Problem && r.path.starts_with("/api/v1/"))
        .map(|r| (r.method, r.path))
        .collect();
    assert_eq!(routes.len(), MANAGEMENT_ROUTES.len());
    for (m, p) in routes {
        assert!(MANAGEMENT_ROUTES.iter().any(|(tm, tp, _)| *tm == m && *tp == p), "{m} {p} is not in the table");
    }
}

#[test]
fn another_tenants_ids_and_credentials_reach_nothing() {
    let s = setup();
    let env = &s.env;
    let api_id = |slug: &str, key: &str| {
        env.api("GET", &format!("/t/{slug}/api/v1/resource-servers"), key, None).json()["resource_servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["identifier"] != "urn:tessera:management")
            .map(|a| a["id"].as_str().unwrap().to_string())
            .unwrap()
    };
    // Tenant B with a user, a client and an API of its own.
    let b_key = env.tenant("other");
    let b_user = env.api("POST", "/t/other/api/v1/users", &b_key, Some(json!({ "email": "b@example.com" }))).json()
        ["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b_client = env
        .api("POST", "/t/other/api/v1/clients", &b_key, Some(json!({ "name": "B", "redirect_uris": [CB] })))
        .json()["client_id"]
        .as_str()
        .unwrap()
        .to_string();
    env.api(
        "POST",
        "/t/other/api/v1/resource-servers",
        &b_key,
        Some(json!({ "identifier": "https://b.example.test", "scopes": ["read"] })),
    );
    let b_api = api_id("other", &b_key);
    let a_api = api_id("demo", &s.key);
    let stream = |slug: &str, key: &str| {
        let r = env.api(
            "POST",
            &format!("/t/{slug}/api/v1/log-streams"),
            key,
            Some(json!({ "name": "siem", "type": "http", "sink": { "url": "https://siem.example.test/in" } })),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()["id"].as_str().unwrap().to_string()
    };
    let b_stream = stream("other", &b_key);
    let a_stream = stream("demo", &s.key);
    let action = |slug: &str, key: &str| {
        let r = env.api(
            "POST",
            &format!("/t/{slug}/api/v1/actions"),
            key,
            Some(json!({ "name": "tag", "trigger": "post-login", "code": "exports.onExecutePostLogin = async () => {};", "secrets": { "K": "v" } })),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        let id = r.json()["id"].as_str().unwrap().to_string();
        assert_eq!(env.api("POST", &format!("/t/{slug}/api/v1/actions/{id}/deploy"), key, None).status, 201);
        id
    };
    let b_action = action("other", &b_key);
    let a_action = action("demo", &s.key);
    let b_before = env.api("GET", &format!("/t/other/api/v1/users/{b_user}"), &b_key, None).body;
    for (method, path, _) in MANAGEMENT_ROUTES {
        // B's credential at A: unknown there.
        let at_a = concrete(path, &s.user_id, &s.client_id, &a_api, &a_stream, &a_action);
        let r = env.api(method, &format!("/t/demo{at_a}"), &b_key, body_for(method));
        assert_eq!(r.status, 401, "{method} {path} with B's key at A: {}", r.body);
        // A's credential with B's ids: as if they did not exist.
        // (A trigger is a name every tenant has, not an id.)
        if path.contains('{') && !path.ends_with("{trigger}") {
            let with_b_ids = concrete(path, &b_user, &b_client, &b_api, &b_stream, &b_action);
            let r = env.api(method, &format!("/t/demo{with_b_ids}"), &s.key, body_for(method));
            assert_eq!(r.status, 404, "{method} {path} with B's ids at A: {}", r.body);
        }
    }
    // B's rows are as they were.
    assert_eq!(env.api("GET", &format!("/t/other/api/v1/users/{b_user}"), &b_key, None).body, b_before);
    assert_eq!(env.api("GET", &format!("/t/other/api/v1/clients/{b_client}"), &b_key, None).status, 200);
    assert_eq!(env.api("GET", &format!("/t/other/api/v1/resource-servers/{b_api}"), &b_key, None).status, 200);
    let b_stream_after = env.api("GET", &format!("/t/other/api/v1/log-streams/{b_stream}"), &b_key, None).json();
    assert_eq!(b_stream_after["status"]["state"], "active");
    assert_eq!(b_stream_after["name"], "siem");
    // B's action cannot be bound to A's trigger, and is untouched.
    let r = env.api(
        "PUT",
        "/t/demo/api/v1/triggers/post-login",
        &s.key,
        Some(json!({ "bindings": [{ "action_id": b_action }] })),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let b_after = env.api("GET", &format!("/t/other/api/v1/actions/{b_action}"), &b_key, None).json();
    assert_eq!(b_after["name"], "tag");
    assert_eq!(b_after["deployed_version"], 1);
    assert_eq!(b_after["secrets"], json!(["K"]));
}

#[test]
fn each_management_route_needs_its_scope() {
    let s = setup();
    const SCOPES: [&str; 13] = [
        "read:users",
        "write:users",
        "read:clients",
        "write:clients",
        "read:resource_servers",
        "write:resource_servers",
        "read:logs",
        "read:log_streams",
        "write:log_streams",
        "read:actions",
        "write:actions",
        "read:scim",
        "write:scim",
    ];
    let token_with = |scopes: Vec<&str>| {
        let r = s.env.api(
            "POST",
            "/t/demo/api/v1/clients",
            &s.key,
            Some(json!({ "name": "bot", "grant_types": ["client_credentials"], "audiences": ["urn:tessera:management"], "scopes": scopes })),
        );
        let (id, secret) = (
            r.json()["client_id"].as_str().unwrap().to_string(),
            r.json()["client_secret"].as_str().unwrap().to_string(),
        );
        let t =
            s.token_as(&id, &secret, &[("grant_type", "client_credentials"), ("audience", "urn:tessera:management")]);
        assert_eq!(t.status, 200, "{}", t.body);
        t.json()["access_token"].as_str().unwrap().to_string()
    };
    for scope in SCOPES {
        let only = token_with(vec![scope]);
        let all_but = token_with(SCOPES.iter().copied().filter(|s| *s != scope).collect());
        for (method, path, needed) in MANAGEMENT_ROUTES.iter().filter(|(_, _, n)| *n == scope) {
            // Ids that do not exist: the scope is checked before the lookup.
            let p = format!(
                "/t/demo{}",
                concrete(path, "usr_missing", "cli_missing", "api_missing", "lst_missing", "act_missing")
            );
            let r = s.env.api(method, &p, &only, body_for(method));
            assert!(![401, 403].contains(&r.status), "{method} {path} with {needed}: {} {}", r.status, r.body);
            let r = s.env.api(method, &p, &all_but, body_for(method));
            assert_eq!(r.status, 403, "{method} {path} without {needed}: {}", r.body);
        }
    }
}

#[test]
fn the_admin_ui_reaches_no_other_tenants_clients() {
    let s = setup();
    s.env.api("PATCH", &format!("/t/demo/api/v1/users/{}", s.user_id), &s.key, Some(json!({ "is_admin": true })));
    let b_key = s.env.tenant("other");
    let b_client = s
        .env
        .api("POST", "/t/other/api/v1/clients", &b_key, Some(json!({ "name": "B app", "redirect_uris": [CB] })))
        .json();
    let b_id = b_client["client_id"].as_str().unwrap().to_string();
    let mut admin = Browser::default();
    assert_eq!(s.env.login(&mut admin, "demo", "ana@example.com", "correct horse battery").status, 303);
    let own = format!("/t/demo/admin/clients/{}", s.client_id);
    // The page of tenant B's client, reached through tenant A's admin UI.
    assert_eq!(s.env.get(&mut admin, &format!("/t/demo/admin/clients/{b_id}")).status, 404);
    // Each form, with a valid CSRF token from A's own pages.
    for (action, fields) in [
        ("", vec![("name", "taken over"), ("redirect_uris", "https://evil.example/cb")]),
        ("/rotate-secret", vec![("overlap_seconds", "0")]),
        ("/consents/revoke", vec![("user_id", s.user_id.as_str())]),
        ("/delete", vec![]),
    ] {
        let r = s.env.submit(&mut admin, &own, &format!("/t/demo/admin/clients/{b_id}{action}"), &fields);
        assert_eq!(r.status, 404, "{action}: {}", r.body);
    }
    // B's client is as it was, and its secret still works.
    let after = s.env.api("GET", &format!("/t/other/api/v1/clients/{b_id}"), &b_key, None).json();
    assert_eq!(after["name"], "B app");
    assert_eq!(after["redirect_uris"], json!([CB]));
    let secret = b_client["client_secret"].as_str().unwrap();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{b_id}:{secret}"));
    let r = s.env.send(
        "POST",
        "/t/other/oauth/introspect",
        &[("authorization", &format!("Basic {basic}")), ("content-type", "application/x-www-form-urlencoded")],
        b"token=x",
        "10.0.0.4",
    );
    assert_eq!(r.status, 200, "the secret was not rotated: {}", r.body);
}

#[test]
fn the_admin_ui_reaches_no_other_tenants_users_and_needs_an_admin() {
    let s = setup();
    let b_key = s.env.tenant("other");
    let b_user = s
        .env
        .api(
            "POST",
            "/t/other/api/v1/users",
            &b_key,
            Some(json!({ "email": "bea@other.test", "password": "correct horse battery", "email_verified": true })),
        )
        .json();
    let b_id = b_user["id"].as_str().unwrap().to_string();
    let secret = b"12345678901234567890";
    let import = json!({ "secret": tessera_core::mfa::totp::to_base32(secret), "encoding": "base32" });
    assert_eq!(s.env.api("PUT", &format!("/t/other/api/v1/users/{b_id}/mfa/totp"), &b_key, Some(import)).status, 200);
    // A signed-in user who is not an administrator sees no user pages.
    let mut plain = Browser::default();
    assert_eq!(s.env.login(&mut plain, "demo", "ana@example.com", "correct horse battery").status, 303);
    assert_eq!(s.env.get(&mut plain, "/t/demo/admin/users").status, 403);
    assert_eq!(s.env.get(&mut plain, &format!("/t/demo/admin/users/{}", s.user_id)).status, 403);

    s.env.api("PATCH", &format!("/t/demo/api/v1/users/{}", s.user_id), &s.key, Some(json!({ "is_admin": true })));
    let mut admin = Browser::default();
    assert_eq!(s.env.login(&mut admin, "demo", "ana@example.com", "correct horse battery").status, 303);
    let list = s.env.get(&mut admin, "/t/demo/admin/users?q=");
    assert_eq!(list.status, 200);
    assert!(list.body.contains("ana@example.com") && !list.body.contains("bea@other.test"), "{}", list.body);
    assert_eq!(s.env.get(&mut admin, &format!("/t/demo/admin/users/{b_id}")).status, 404);
    let own = format!("/t/demo/admin/users/{}", s.user_id);
    for action in ["/block", "/unblock", "/password-reset", "/mfa/reset"] {
        let r = s.env.submit(&mut admin, &own, &format!("/t/demo/admin/users/{b_id}{action}"), &[]);
        assert_eq!(r.status, 404, "{action}: {}", r.body);
    }
    // B's user is as it was: not blocked, factor kept, no mail.
    let after = s.env.api("GET", &format!("/t/other/api/v1/users/{b_id}"), &b_key, None).json();
    assert_eq!(after["blocked"], false);
    let f = s.env.api("GET", &format!("/t/other/api/v1/users/{b_id}/mfa"), &b_key, None).json();
    assert_eq!(f["totp"]["confirmed"], true);
    assert!(s.env.mailbox("bea@other.test").is_empty());
    // Nor through the management API with A's key.
    for (m, p) in [("GET", "/mfa"), ("DELETE", "/mfa"), ("DELETE", "/mfa/totp"), ("DELETE", "/mfa/email")] {
        assert_eq!(s.env.api(m, &format!("/t/demo/api/v1/users/{b_id}{p}"), &s.key, None).status, 404, "{m} {p}");
    }
}

#[test]
fn reset_and_resend_forms_without_an_address_are_refused_and_send_nothing() {
    let env = Env::new();
    env.tenant("demo");
    env.signup_verified("demo", "ana@example.com", "correct horse battery");
    let mut b = Browser::default();
    let mails = env.mailbox_rows();
    // Found by the contract fuzzer once it had a CSRF pair: these answered
    // "check your email" (200) to a form with no address at all.
    for fields in [&[][..], &[("email", "")], &[("email", "not an address")]] {
        let r = env.submit(&mut b, "/t/demo/password-reset", "/t/demo/password-reset", fields);
        assert_eq!(r.status, 400, "{fields:?}: {}", r.body);
        assert!(r.body.contains("valid address"), "{}", r.body);
        assert!(r.body.contains("name=\"csrf_token\""), "the form is shown again: {}", r.body);
        let r = env.submit(&mut b, "/t/demo/password-reset", "/t/demo/verify-email/resend", fields);
        assert_eq!(r.status, 400, "{fields:?}: {}", r.body);
    }
    assert_eq!(env.mailbox_rows(), mails);
    // An address, known or not, still gets the one answer, and mail goes
    // only to the account (the address is matched case-insensitively).
    for email in ["nobody@example.com", "Ana@Example.com"] {
        let r = env.submit(&mut b, "/t/demo/password-reset", "/t/demo/password-reset", &[("email", email)]);
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("If an account exists"), "{}", r.body);
    }
    assert_eq!(env.mailbox_rows(), mails + 1);
}
