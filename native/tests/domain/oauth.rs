//! OAuth 2.0 / OIDC flows over the real core and SQLite, with a pinned
//! clock: code + PKCE, consent, refresh rotation and reuse, replay, expiry,
//! client secrets, logout, and the negative cases of RFC 9700.

use super::native_host_support::*;
use base64::Engine;
use jwt_compact::alg::Es256;
use jwt_compact::{AlgorithmExt, UntrustedToken};

pub(super) const CB: &str = "https://app.example.test/cb";
pub(super) const BYE: &str = "https://app.example.test/bye";
pub(super) const API: &str = "https://api.example.test";

pub(super) struct Setup {
    pub(super) env: Env,
    pub(super) key: String,
    pub(super) client_id: String,
    pub(super) secret: String,
    pub(super) user_id: String,
}

pub(super) fn setup() -> Setup {
    let env = Env::new();
    let key = env.tenant("demo");
    let r = env.api(
        "POST",
        "/t/demo/api/v1/resource-servers",
        &key,
        Some(json!({ "identifier": API, "name": "Things API", "scopes": ["read:things", "write:things"] })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = env.api(
        "POST",
        "/t/demo/api/v1/clients",
        &key,
        Some(json!({
            "name": "Web App",
            "redirect_uris": [CB],
            "post_logout_redirect_uris": [BYE],
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "scopes": ["openid", "profile", "email", "offline_access", "read:things"],
            "audiences": [API],
        })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let client_id = r.json()["client_id"].as_str().unwrap().to_string();
    let secret = r.json()["client_secret"].as_str().unwrap().to_string();
    let r = env.api("POST", "/t/demo/api/v1/users", &key, Some(json!({ "email": "ana@example.com", "password": "correct horse battery", "email_verified": true, "name": "Ana" })));
    let user_id = r.json()["id"].as_str().unwrap().to_string();
    Setup { env, key, client_id, secret, user_id }
}

pub(super) fn pkce() -> (String, String) {
    let mut b = [0u8; 32];
    getrandom::getrandom(&mut b).unwrap();
    let verifier = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tessera_core::crypto::sha256(verifier.as_bytes()));
    (verifier, challenge)
}

pub(super) fn query_of(location: &str) -> HashMap<String, String> {
    let q = location.split_once('?').map(|(_, q)| q).unwrap_or("");
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

impl Setup {
    pub(super) fn authorize_url(&self, extra: &[(&str, &str)]) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("client_id", &self.client_id);
        s.append_pair("redirect_uri", CB);
        s.append_pair("response_type", "code");
        s.append_pair("scope", "openid profile email offline_access");
        s.append_pair("state", "st-1");
        s.append_pair("nonce", "n-1");
        for (k, v) in extra {
            s.append_pair(k, v);
        }
        format!("/t/demo/authorize?{}", s.finish())
    }

    /// Signs in, consents if asked, and returns the redirect's parameters.
    pub(super) fn code(&self, b: &mut Browser, challenge: &str) -> HashMap<String, String> {
        if !b.cookies.contains_key("tessera_session") {
            assert_eq!(self.env.login(b, "demo", "ana@example.com", "correct horse battery").status, 303);
        }
        let url = self.authorize_url(&[("code_challenge", challenge), ("code_challenge_method", "S256")]);
        let mut r = self.env.get(b, &url);
        if r.status == 200 {
            assert!(r.body.contains("Web App"), "consent page names the client");
            let token = r.hidden("csrf_token");
            let request = r.hidden("request");
            r = self.env.post_form(
                b,
                "/t/demo/consent",
                &[("csrf_token", &token), ("request", &request), ("decision", "allow")],
            );
        }
        assert_eq!(r.status, 303, "{}", r.body);
        let loc = r.header("location").to_string();
        assert!(loc.starts_with(CB), "{loc}");
        query_of(&loc)
    }

    pub(super) fn token(&self, fields: &[(&str, &str)]) -> Resp {
        self.token_as(&self.client_id, &self.secret, fields)
    }

    pub(super) fn token_as(&self, client_id: &str, secret: &str, fields: &[(&str, &str)]) -> Resp {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        self.env.send(
            "POST",
            "/t/demo/oauth/token",
            &[("authorization", &format!("Basic {basic}")), ("content-type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
            "10.0.0.2",
        )
    }

    pub(super) fn exchange(&self, code: &str, verifier: &str) -> Resp {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CB),
            ("code_verifier", verifier),
        ])
    }

    pub(super) fn userinfo(&self, at: &str) -> Resp {
        self.env.send("GET", "/t/demo/userinfo", &[("authorization", &format!("Bearer {at}"))], b"", "10.0.0.2")
    }

    pub(super) fn form(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.client_id, self.secret));
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        self.env.send(
            "POST",
            path,
            &[("authorization", &format!("Basic {basic}")), ("content-type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
            "10.0.0.2",
        )
    }
}

pub(super) fn verify_jwt(env: &Env, token: &str) -> Value {
    let jwks = env.send("GET", "/t/demo/.well-known/jwks.json", &[], b"", "x").json();
    let untrusted = UntrustedToken::new(token).unwrap();
    let kid = untrusted.header().key_id.clone().unwrap();
    let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid.as_str()).expect("kid in JWKS").clone();
    let key = tessera_core::keys::PublicJwk::parse(&jwk).unwrap();
    Es256.validator::<Value>(&key).validate(&untrusted).expect("signature verifies").claims().custom.clone()
}

#[test]
fn code_flow_with_pkce_consent_refresh_revoke() {
    let s = setup();
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let q = s.code(&mut b, &challenge);
    assert_eq!(q["state"], "st-1");
    assert_eq!(q["iss"], "http://127.0.0.1:8787/t/demo");
    let r = s.exchange(&q["code"], &verifier);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), "no-store");
    let t = r.json();
    assert_eq!(t["token_type"], "Bearer");
    let at = t["access_token"].as_str().unwrap();
    let rt = t["refresh_token"].as_str().unwrap();

    let id = verify_jwt(&s.env, t["id_token"].as_str().unwrap());
    assert_eq!(id["iss"], "http://127.0.0.1:8787/t/demo");
    assert_eq!(id["aud"], s.client_id.as_str());
    assert_eq!(id["sub"], s.user_id.as_str());
    assert_eq!(id["nonce"], "n-1");
    assert_eq!(id["email"], "ana@example.com");
    assert!(id["auth_time"].is_i64());
    let digest = tessera_core::crypto::sha256(at.as_bytes());
    assert_eq!(id["at_hash"], tessera_core::crypto::b64url(&digest[..16]).as_str());
    assert_eq!(UntrustedToken::new(at).unwrap().header().token_type.as_deref(), Some("at+jwt"));
    let atc = verify_jwt(&s.env, at);
    assert_eq!(atc["client_id"], s.client_id.as_str());

    let u = s.userinfo(at);
    assert_eq!(u.status, 200, "{}", u.body);
    assert_eq!(u.json()["sub"], s.user_id.as_str());
    assert_eq!(u.json()["name"], "Ana");

    // Consent is remembered: the next authorization skips the page and goes
    // straight back to the client with a code that works.
    let (v2, c2) = pkce();
    let url = s.authorize_url(&[("code_challenge", &c2), ("code_challenge_method", "S256")]);
    let again = s.env.get(&mut b, &url);
    assert_eq!(again.status, 303);
    let loc = again.header("location").to_string();
    assert!(loc.starts_with(CB), "back to the client, not to a page: {loc}");
    let q2 = query_of(&loc);
    assert_eq!(q2["state"], "st-1");
    assert_eq!(s.exchange(&q2["code"], &v2).status, 200);

    // Refresh rotates; the old refresh token is then refused and its reuse
    // revokes the whole family, the new one included.
    let r2 = s.token(&[("grant_type", "refresh_token"), ("refresh_token", rt)]);
    assert_eq!(r2.status, 200, "{}", r2.body);
    let rt2 = r2.json()["refresh_token"].as_str().unwrap().to_string();
    let at2 = r2.json()["access_token"].as_str().unwrap().to_string();
    assert_ne!(rt2, rt);
    let reuse = s.token(&[("grant_type", "refresh_token"), ("refresh_token", rt)]);
    assert_eq!(reuse.status, 400);
    assert_eq!(reuse.json()["error"], "invalid_grant");
    assert_eq!(s.token(&[("grant_type", "refresh_token"), ("refresh_token", &rt2)]).status, 400);
    assert_eq!(s.userinfo(&at2).status, 401);
    let i = s.form("/t/demo/oauth/introspect", &[("token", &at2)]);
    assert_eq!(i.json()["active"], false);
}

#[test]
fn revoke_and_introspect() {
    let s = setup();
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let q = s.code(&mut b, &challenge);
    let t = s.exchange(&q["code"], &verifier).json();
    let at = t["access_token"].as_str().unwrap();
    let rt = t["refresh_token"].as_str().unwrap();
    let i = s.form("/t/demo/oauth/introspect", &[("token", at)]).json();
    assert_eq!(i["active"], true);
    assert_eq!(i["sub"], s.user_id.as_str());
    let i = s.form("/t/demo/oauth/introspect", &[("token", rt)]).json();
    assert_eq!(i["active"], true);
    assert_eq!(i["token_type"], "refresh_token");
    let r = s.form("/t/demo/oauth/revoke", &[("token", rt), ("token_type_hint", "refresh_token")]);
    assert_eq!(r.status, 200);
    assert_eq!(s.form("/t/demo/oauth/introspect", &[("token", rt)]).json()["active"], false);
    // Revoking the refresh token revoked the grant's access token too.
    assert_eq!(s.form("/t/demo/oauth/introspect", &[("token", at)]).json()["active"], false);
    assert_eq!(s.form("/t/demo/oauth/revoke", &[("token", "unknown")]).status, 200);
    assert_eq!(s.form("/t/demo/oauth/introspect", &[("token", "garbage")]).json()["active"], false);
}

#[test]
fn code_replay_revokes_tokens_from_that_code() {
    let s = setup();
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let q = s.code(&mut b, &challenge);
    let first = s.exchange(&q["code"], &verifier);
    assert_eq!(first.status, 200);
    let at = first.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(s.userinfo(&at).status, 200);
    let replay = s.exchange(&q["code"], &verifier);
    assert_eq!(replay.status, 400);
    assert_eq!(replay.json()["error"], "invalid_grant");
    assert_eq!(s.userinfo(&at).status, 401, "tokens from the replayed code are revoked");
    let rt = first.json()["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(s.token(&[("grant_type", "refresh_token"), ("refresh_token", &rt)]).status, 400);
}

#[test]
fn pkce_is_enforced() {
    let s = setup();
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let q = s.code(&mut b, &challenge);
    let (other, _) = pkce();
    let r = s.exchange(&q["code"], &other);
    assert_eq!((r.status, r.json()["error"].as_str().unwrap()), (400, "invalid_grant"));
    // The failed attempt used the code up.
    assert_eq!(s.exchange(&q["code"], &verifier).status, 400);

    let q = s.code(&mut b, &challenge);
    let r = s.token(&[("grant_type", "authorization_code"), ("code", &q["code"]), ("redirect_uri", CB)]);
    assert_eq!(r.json()["error"], "invalid_grant", "missing verifier");

    // At the authorization endpoint: plain and a missing challenge are refused.
    for extra in [vec![("code_challenge", challenge.as_str()), ("code_challenge_method", "plain")], vec![]] {
        let r = s.env.get(&mut b, &s.authorize_url(&extra));
        assert_eq!(r.status, 303);
        let q = query_of(r.header("location"));
        assert_eq!(q["error"], "invalid_request", "{extra:?}");
        assert_eq!(q["state"], "st-1");
    }
}

#[test]
fn redirect_uri_must_match_exactly() {
    let s = setup();
    let mut b = Browser::default();
    s.env.login(&mut b, "demo", "ana@example.com", "correct horse battery");
    let (_, challenge) = pkce();
    for bad in [
        "https://app.example.test/cb/",
        "https://app.example.test/cb?x=1",
        "https://evil.example/cb",
        "HTTPS://app.example.test/cb",
    ] {
        let url = s.authorize_url(&[("code_challenge", &challenge), ("code_challenge_method", "S256")]).replace(
            &form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>(),
            &form_urlencoded::byte_serialize(bad.as_bytes()).collect::<String>(),
        );
        let r = s.env.get(&mut b, &url);
        assert_eq!(r.status, 400, "{bad}: no redirect to an unverified URI");
        assert!(r.header("location").is_empty());
    }
    // A code bound to one redirect URI cannot be redeemed with another.
    let (verifier, challenge) = pkce();
    let q = s.code(&mut b, &challenge);
    let r = s.token(&[
        ("grant_type", "authorization_code"),
        ("code", &q["code"]),
        ("redirect_uri", "https://app.example.test/other"),
        ("code_verifier", &verifier),
    ]);
    assert_eq!(r.json()["error"], "invalid_grant");
}

#[test]
fn expired_codes_are_refused() {
    let s = setup();
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let q = s.code(&mut b, &challenge);
    s.env.host.clock.advance(61_000);
    let r = s.exchange(&q["code"], &verifier);
    assert_eq!(r.json()["error"], "invalid_grant");
}

#[test]
fn invalid_scope_and_prompt_none() {
    let s = setup();
    let mut b = Browser::default();
    let (_, challenge) = pkce();
    let pk = [("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];
    // Not signed in: prompt=none answers login_required.
    let r = s.env.get(&mut b, &s.authorize_url(&[pk[0], pk[1], ("prompt", "none")]));
    let q = query_of(r.header("location"));
    assert_eq!(q["error"], "login_required");
    assert_eq!(q["iss"], "http://127.0.0.1:8787/t/demo");
    // Without prompt: off to the login page, and back afterwards.
    let r = s.env.get(&mut b, &s.authorize_url(&pk));
    assert!(
        r.header("location").starts_with("/t/demo/login?return_to=%2Ft%2Fdemo%2Fauthorize"),
        "{}",
        r.header("location")
    );
    s.env.login(&mut b, "demo", "ana@example.com", "correct horse battery");
    // Signed in, no consent yet: prompt=none answers consent_required.
    let r = s.env.get(&mut b, &s.authorize_url(&[pk[0], pk[1], ("prompt", "none")]));
    assert_eq!(query_of(r.header("location"))["error"], "consent_required");
    // A scope the client may not ask for.
    let url = s.authorize_url(&pk).replace("scope=openid", "scope=openid+admin");
    let r = s.env.get(&mut b, &url);
    assert_eq!(query_of(r.header("location"))["error"], "invalid_scope");
    // Unknown client: an error page, never a redirect.
    let url = s.authorize_url(&pk).replace(&s.client_id, "nope");
    assert_eq!(s.env.get(&mut b, &url).status, 400);
    // Denying consent sends access_denied back.
    let r = s.env.get(&mut b, &s.authorize_url(&pk));
    let token = r.hidden("csrf_token");
    let request = r.hidden("request");
    let r = s.env.post_form(
        &mut b,
        "/t/demo/consent",
        &[("csrf_token", &token), ("request", &request), ("decision", "deny")],
    );
    assert_eq!(query_of(r.header("location"))["error"], "access_denied");
}

#[test]
fn client_secrets_rotate_with_overlap() {
    let mut s = setup();
    let old = s.secret.clone();
    let r = s.env.api(
        "POST",
        &format!("/t/demo/api/v1/clients/{}/rotate-secret", s.client_id),
        &s.key,
        Some(json!({ "overlap_seconds": 60 })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let new = r.json()["client_secret"].as_str().unwrap().to_string();
    let cc = |s: &Setup| s.token(&[("grant_type", "client_credentials"), ("audience", API)]);
    assert_eq!(cc(&s).status, 200, "old secret inside the overlap");
    s.secret = new.clone();
    assert_eq!(cc(&s).status, 200, "new secret");
    s.env.host.clock.advance(61_000);
    s.secret = old;
    let r = cc(&s);
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"], "invalid_client");
    assert!(r.header("www-authenticate").starts_with("Basic"));
    // An OAuth error is never cached either (RFC 6749 §5.2 by way of §5.1).
    assert_eq!((r.header("cache-control"), r.header("pragma")), ("no-store", "no-cache"));
    s.secret = "wrong".into();
    assert_eq!(cc(&s).status, 401);
    s.secret = new;
    assert_eq!(cc(&s).status, 200);
    // The secret is never listed.
    let listed = s.env.api("GET", "/t/demo/api/v1/clients", &s.key, None);
    assert!(!listed.body.contains(&s.secret));
}

#[test]
fn client_credentials_for_an_api() {
    let s = setup();
    let r = s.token(&[("grant_type", "client_credentials"), ("audience", API), ("scope", "read:things")]);
    assert_eq!(r.status, 200, "{}", r.body);
    // RFC 6749 §5.1: a response with tokens is never cached.
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(r.header("pragma"), "no-cache");
    assert_eq!(r.header("content-type"), "application/json");
    let t = r.json();
    assert!(t.get("refresh_token").is_none() && t.get("id_token").is_none());
    let c = verify_jwt(&s.env, t["access_token"].as_str().unwrap());
    assert_eq!(c["aud"], API);
    assert_eq!(c["sub"], s.client_id.as_str());
    assert_eq!(c["scope"], "read:things");
    let r = s.token(&[("grant_type", "client_credentials"), ("audience", API), ("scope", "write:things")]);
    assert_eq!(r.json()["error"], "invalid_scope", "the client is not allowed write:things");
    let r = s.token(&[("grant_type", "client_credentials"), ("audience", "https://other.example")]);
    assert_eq!(r.json()["error"], "invalid_target");
    let r = s.token(&[("grant_type", "password"), ("username", "a"), ("password", "b")]);
    assert_eq!(r.json()["error"], "unsupported_grant_type");
    // Not allowed for this client's grant types.
    s.env.api(
        "PATCH",
        &format!("/t/demo/api/v1/clients/{}", s.client_id),
        &s.key,
        Some(json!({ "grant_types": ["authorization_code"] })),
    );
    let r = s.token(&[("grant_type", "client_credentials"), ("audience", API)]);
    assert_eq!(r.json()["error"], "unauthorized_client");
}

#[test]
fn public_clients_need_pkce_and_no_secret() {
    let s = setup();
    let r = s.env.api(
        "POST",
        "/t/demo/api/v1/clients",
        &s.key,
        Some(json!({ "name": "SPA", "client_type": "public", "redirect_uris": [CB] })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.json().get("client_secret").is_none());
    assert_eq!(r.json()["token_endpoint_auth_method"], "none");
    let bad = s.env.api("POST", "/t/demo/api/v1/clients", &s.key, Some(json!({ "name": "SPA", "client_type": "public", "redirect_uris": [CB], "grant_types": ["client_credentials"] })));
    assert_eq!(bad.status, 400);
    let bad = s.env.api(
        "POST",
        "/t/demo/api/v1/clients",
        &s.key,
        Some(json!({ "name": "X", "redirect_uris": ["http://evil.example/cb"] })),
    );
    assert_eq!(bad.status, 400, "plain http redirect URIs only for loopback");
}

#[test]
fn rp_initiated_logout() {
    let s = setup();
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let q = s.code(&mut b, &challenge);
    let id_token = s.exchange(&q["code"], &verifier).json()["id_token"].as_str().unwrap().to_string();
    let enc = |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    // An unregistered post_logout_redirect_uri is refused, and the session stays.
    let r = s.env.get(
        &mut b,
        &format!("/t/demo/logout?id_token_hint={id_token}&post_logout_redirect_uri={}", enc("https://evil.example/")),
    );
    assert_eq!(r.status, 400);
    assert_eq!(s.env.get(&mut b, "/t/demo/account").status, 200);
    let r = s.env.get(
        &mut b,
        &format!("/t/demo/logout?id_token_hint={id_token}&post_logout_redirect_uri={}&state=s9", enc(BYE)),
    );
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), format!("{BYE}?state=s9"));
    assert_eq!(s.env.get(&mut b, "/t/demo/account").status, 303, "signed out");
}

#[test]
fn consent_revocation_revokes_tokens() {
    let s = setup();
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let q = s.code(&mut b, &challenge);
    let at = s.exchange(&q["code"], &verifier).json()["access_token"].as_str().unwrap().to_string();
    let consents = s.env.api("GET", &format!("/t/demo/api/v1/users/{}/consents", s.user_id), &s.key, None).json();
    assert_eq!(consents["consents"][0]["client_id"], s.client_id.as_str());
    let r = s.env.api("DELETE", &format!("/t/demo/api/v1/users/{}/consents/{}", s.user_id, s.client_id), &s.key, None);
    assert_eq!(r.status, 204);
    assert_eq!(s.userinfo(&at).status, 401);
    // The user is asked again next time.
    let url = s.authorize_url(&[("code_challenge", &challenge), ("code_challenge_method", "S256")]);
    assert_eq!(s.env.get(&mut b, &url).status, 200);
}

#[test]
fn clients_and_tokens_stay_in_their_tenant() {
    let s = setup();
    let other_key = s.env.tenant("other");
    // Tenant A's client is unknown at tenant B.
    let url = s.authorize_url(&[]).replace("/t/demo/", "/t/other/");
    assert_eq!(s.env.get(&mut Browser::default(), &url).status, 400);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", s.client_id, s.secret));
    let r = s.env.send(
        "POST",
        "/t/other/oauth/token",
        &[("authorization", &format!("Basic {basic}")), ("content-type", "application/x-www-form-urlencoded")],
        format!("grant_type=client_credentials&audience={API}").as_bytes(),
        "x",
    );
    assert_eq!(r.json()["error"], "invalid_client");
    // A token of tenant A is not accepted at tenant B.
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let q = s.code(&mut b, &challenge);
    let at = s.exchange(&q["code"], &verifier).json()["access_token"].as_str().unwrap().to_string();
    let r = s.env.send("GET", "/t/other/userinfo", &[("authorization", &format!("Bearer {at}"))], b"", "x");
    assert_eq!(r.status, 401);
    assert_eq!(s.env.api("GET", &format!("/t/other/api/v1/clients/{}", s.client_id), &other_key, None).status, 404);
}

#[test]
fn refresh_grace_period_allows_a_retry() {
    let s = setup();
    s.env.api(
        "PATCH",
        &format!("/t/demo/api/v1/clients/{}", s.client_id),
        &s.key,
        Some(json!({ "refresh_grace_seconds": 30 })),
    );
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let q = s.code(&mut b, &challenge);
    let rt = s.exchange(&q["code"], &verifier).json()["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(s.token(&[("grant_type", "refresh_token"), ("refresh_token", &rt)]).status, 200);
    s.env.host.clock.advance(10_000);
    assert_eq!(
        s.token(&[("grant_type", "refresh_token"), ("refresh_token", &rt)]).status,
        200,
        "retry inside the grace period"
    );
    s.env.host.clock.advance(30_000);
    assert_eq!(s.token(&[("grant_type", "refresh_token"), ("refresh_token", &rt)]).status, 400, "reuse after it");
}

#[test]
fn management_api_by_client_credentials() {
    let s = setup();
    let r = s.env.api(
        "POST",
        "/t/demo/api/v1/clients",
        &s.key,
        Some(json!({ "name": "Ops bot", "grant_types": ["client_credentials"], "audiences": ["urn:tessera:management"], "scopes": ["read:users", "read:clients"] })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let (bot_id, bot_secret) =
        (r.json()["client_id"].as_str().unwrap().to_string(), r.json()["client_secret"].as_str().unwrap().to_string());
    let t = s.token_as(
        &bot_id,
        &bot_secret,
        &[("grant_type", "client_credentials"), ("audience", "urn:tessera:management")],
    );
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(t.json()["scope"], "read:users read:clients");
    let at = t.json()["access_token"].as_str().unwrap().to_string();
    let r = s.env.api("GET", "/t/demo/api/v1/users", &at, None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["users"][0]["email"], "ana@example.com");
    assert_eq!(s.env.api("GET", "/t/demo/api/v1/clients", &at, None).status, 200);
    // Scopes are enforced per route.
    let r = s.env.api("POST", "/t/demo/api/v1/users", &at, Some(json!({ "email": "x@example.com" })));
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(s.env.api("GET", "/t/demo/api/v1/logs", &at, None).status, 403);
    // A token for another audience is not a management token.
    let other = s.token(&[("grant_type", "client_credentials"), ("audience", API)]).json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(s.env.api("GET", "/t/demo/api/v1/users", &other, None).status, 401);
    // Nor does a management token of this tenant work at another.
    let other_key = s.env.tenant("other");
    let _ = other_key;
    assert_eq!(s.env.api("GET", "/t/other/api/v1/users", &at, None).status, 401);
    // The management API itself cannot be deleted.
    let apis = s.env.api("GET", "/t/demo/api/v1/resource-servers", &s.key, None).json();
    let mgmt = apis["resource_servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["identifier"] == "urn:tessera:management")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(s.env.api("DELETE", &format!("/t/demo/api/v1/resource-servers/{mgmt}"), &s.key, None).status, 400);
}

#[test]
fn prompt_login_and_max_age_force_a_fresh_login_without_looping() {
    let s = setup();
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    // A first code, so consent is stored and the session is an hour old.
    s.code(&mut b, &challenge);
    let pk = [("code_challenge", challenge.as_str()), ("code_challenge_method", "S256")];
    for extra in [("prompt", "login"), ("max_age", "60")] {
        s.env.host.clock.advance(3_600_000);
        let r = s.env.get(&mut b, &s.authorize_url(&[pk[0], pk[1], extra]));
        assert_eq!(r.status, 303, "{extra:?}");
        let to_login = r.header("location").to_string();
        assert!(to_login.starts_with("/t/demo/login?return_to="), "{to_login}");
        // The login page shows its form even though a session exists...
        let page = s.env.get(&mut b, &to_login);
        assert_eq!(page.status, 200, "{extra:?}: the form, not a redirect");
        let token = page.hidden("csrf_token");
        let back = page.hidden("return_to");
        assert!(!back.contains("prompt=login") && !back.contains("max_age"), "{back}");
        let r = s.env.post_form(
            &mut b,
            "/t/demo/login",
            &[
                ("csrf_token", &token),
                ("email", "ana@example.com"),
                ("password", "correct horse battery"),
                ("return_to", &back),
            ],
        );
        assert_eq!(r.status, 303);
        // ...and the way back issues a code at once (no second login, no loop).
        let r = s.env.get(&mut b, r.header("location"));
        assert_eq!(r.status, 303);
        let q = query_of(r.header("location"));
        let t = s.exchange(&q["code"], &verifier).json();
        let id = verify_jwt(&s.env, t["id_token"].as_str().unwrap());
        let auth_time = id["auth_time"].as_i64().unwrap();
        assert_eq!(auth_time * 1000, s.env.host.clock.now_ms_pub() / 1000 * 1000, "auth_time is the fresh login");
    }
    // Within max_age, the session is used as it is.
    s.env.host.clock.advance(30_000);
    let r = s.env.get(&mut b, &s.authorize_url(&[pk[0], pk[1], ("max_age", "60")]));
    assert!(r.header("location").starts_with(CB), "{}", r.header("location"));
}

#[test]
fn cached_clients_still_honour_secret_expiry_and_local_changes() {
    let mut s = setup();
    let cc = |s: &Setup| s.token(&[("grant_type", "client_credentials"), ("audience", API)]);
    let r = s.env.api(
        "POST",
        &format!("/t/demo/api/v1/clients/{}/rotate-secret", s.client_id),
        &s.key,
        Some(json!({ "overlap_seconds": 2 })),
    );
    let new = r.json()["client_secret"].as_str().unwrap().to_string();
    assert_eq!(cc(&s).status, 200, "old secret inside the overlap (the client is now cached)");
    // Still inside the cache window, past the overlap: the secret's own end
    // is checked on every use.
    s.env.host.clock.advance(2_500);
    assert_eq!(cc(&s).json()["error"], "invalid_client");
    s.secret = new;
    assert_eq!(cc(&s).status, 200);
    // A change made through this isolate is seen at once.
    s.secret = {
        let r = s.env.api(
            "POST",
            &format!("/t/demo/api/v1/clients/{}/rotate-secret", s.client_id),
            &s.key,
            Some(json!({ "overlap_seconds": 0 })),
        );
        r.json()["client_secret"].as_str().unwrap().to_string()
    };
    assert_eq!(cc(&s).status, 200, "the freshly rotated secret works at once");
    let r = s.env.api("DELETE", &format!("/t/demo/api/v1/clients/{}", s.client_id), &s.key, None);
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(cc(&s).json()["error"], "invalid_client", "a deleted client is refused at once");
}

#[test]
fn changes_made_elsewhere_are_seen_within_the_cache_window() {
    let s = setup();
    let cc = |s: &Setup| s.token(&[("grant_type", "client_credentials"), ("audience", API)]);
    assert_eq!(cc(&s).status, 200);
    // Another isolate ends the secret now: this one trusts its copy for at
    // most five seconds.
    let now = s.env.host.clock.now_ms_pub();
    s.env
        .host
        .db
        .conn()
        .execute(
            "UPDATE oauth_client_secrets SET expires_at = ?1 WHERE client_id = ?2",
            rusqlite::params![now, &s.client_id],
        )
        .unwrap();
    assert_eq!(cc(&s).status, 200, "inside the window");
    s.env.host.clock.advance(5_000);
    assert_eq!(cc(&s).json()["error"], "invalid_client", "after the window");
}

/// A second confidential client for the same API: an audience of the
/// first one's tokens, so it may introspect them (RFC 7662 §2.1).
fn resource_client(s: &Setup) -> (String, String) {
    let r = s.env.api(
        "POST",
        "/t/demo/api/v1/clients",
        &s.key,
        Some(json!({ "name": "Things API", "grant_types": ["client_credentials"], "audiences": [API] })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    (r.json()["client_id"].as_str().unwrap().to_string(), r.json()["client_secret"].as_str().unwrap().to_string())
}

/// A form POST authenticated as `client` (`client_secret_basic`).
fn form_as(s: &Setup, (id, secret): &(String, String), path: &str, fields: &[(&str, &str)]) -> Resp {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    s.env.send(
        "POST",
        path,
        &[("authorization", &format!("Basic {basic}")), ("content-type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
        "10.0.0.3",
    )
}

fn introspect_as(s: &Setup, client: &(String, String), token: &str) -> serde_json::Value {
    let r = form_as(s, client, "/t/demo/oauth/introspect", &[("token", token)]);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

#[test]
fn a_client_deleted_elsewhere_gets_tokens_and_keeps_them_only_within_the_cache_window() {
    let s = setup();
    let api = resource_client(&s);
    let cc = |s: &Setup| s.token(&[("grant_type", "client_credentials"), ("audience", API)]);
    let before = cc(&s).json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(introspect_as(&s, &api, &before)["active"], true);
    // Another isolate deletes the client: this one trusts its cached copy
    // for at most five seconds, for new tokens and presented ones alike.
    s.env.host.db.conn().execute("DELETE FROM oauth_clients WHERE id = ?1", [&s.client_id]).unwrap();
    let inside = cc(&s);
    assert_eq!(inside.status, 200, "inside the window: {}", inside.body);
    let inside = inside.json()["access_token"].as_str().unwrap().to_string();
    s.env.host.clock.advance(5_000);
    let r = cc(&s);
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.json()["error"], "invalid_client");
    assert!(r.header("www-authenticate").starts_with("Basic"));
    for token in [&before, &inside] {
        assert_eq!(introspect_as(&s, &api, token)["active"], false, "a deleted client's tokens are refused");
    }
    let stored: i64 = s.env.host.db.conn().query_row("SELECT count(*) FROM oauth_tokens", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, 0, "client tokens are self-contained: nothing was stored for them");
}

#[test]
fn a_client_token_is_self_contained_and_its_audit_event_is_stored() {
    let s = setup();
    let r = s.token(&[("grant_type", "client_credentials"), ("audience", API)]);
    assert_eq!(r.status, 200, "{}", r.body);
    let jti = verify_jwt(&s.env, r.json()["access_token"].as_str().unwrap())["jti"].as_str().unwrap().to_string();
    let conn = s.env.host.db.conn();
    let stored: i64 = conn.query_row("SELECT count(*) FROM oauth_tokens WHERE id = ?1", [&jti], |r| r.get(0)).unwrap();
    assert_eq!(stored, 0, "a client_credentials token writes no token row");
    // This host's event pipeline (the outbox) does not store events, so the
    // core stored it itself (on Workers the queue consumer does).
    let events: Vec<String> = conn
        .prepare("SELECT details FROM audit_events WHERE type = ?1")
        .unwrap()
        .query_map(["seccft"], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(events.len(), 1, "one event per token request");
    assert!(events[0].contains("client_credentials"));
    let outbox: i64 = conn
        .query_row("SELECT count(*) FROM event_outbox WHERE payload LIKE '%\"seccft\"%'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(outbox, 1, "the event was handed to the stream, once");
}

#[test]
fn a_revoked_client_token_is_refused_until_it_expires_and_then_forgotten() {
    let s = setup();
    let api = resource_client(&s);
    let mint = || {
        let r = s.token(&[("grant_type", "client_credentials"), ("audience", API)]);
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["access_token"].as_str().unwrap().to_string()
    };
    let (revoked, kept) = (mint(), mint());
    assert_eq!(introspect_as(&s, &api, &revoked)["active"], true);
    // Another client cannot revoke it (RFC 7009 §2.1: silently).
    let r = form_as(&s, &api, "/t/demo/oauth/revoke", &[("token", &revoked)]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(introspect_as(&s, &api, &revoked)["active"], true, "another client's revocation changes nothing");
    assert_eq!(s.form("/t/demo/oauth/revoke", &[("token", &revoked)]).status, 200);
    assert_eq!(introspect_as(&s, &api, &revoked)["active"], false, "on the deny-list");
    assert_eq!(introspect_as(&s, &api, &kept)["active"], true, "only that token");
    // Userinfo reads the same list (the management API too: tests/e2e).
    let r = s.env.send("GET", "/t/demo/userinfo", &[("authorization", &format!("Bearer {revoked}"))], b"", "10.0.0.3");
    assert_eq!(r.status, 401, "{}", r.body);
    let listed = |s: &Setup| -> i64 {
        s.env.host.db.conn().query_row("SELECT count(*) FROM revoked_access_tokens", [], |r| r.get(0)).unwrap()
    };
    assert_eq!(listed(&s), 1);
    // A user's access token has its row: revoking it marks the row and
    // leaves the deny-list alone.
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let q = s.code(&mut b, &challenge);
    let user_at = s.exchange(&q["code"], &verifier).json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(s.form("/t/demo/oauth/revoke", &[("token", &user_at)]).status, 200);
    assert_eq!(s.form("/t/demo/oauth/introspect", &[("token", &user_at)]).json()["active"], false);
    let jti = verify_jwt(&s.env, &user_at)["jti"].as_str().unwrap().to_string();
    let marked: i64 = s
        .env
        .host
        .db
        .conn()
        .query_row("SELECT count(*) FROM oauth_tokens WHERE id = ?1 AND revoked_at IS NOT NULL", [&jti], |r| r.get(0))
        .unwrap();
    assert_eq!(marked, 1, "the user's token row is marked");
    assert_eq!(listed(&s), 1, "and not put on the deny-list");
    // Maintenance keeps the entry while the token lives (and a day more),
    // then drops it: the token's own expiry refuses it from then on.
    s.env.platform("POST", "/api/v1/internal/maintenance", None);
    assert_eq!(listed(&s), 1, "kept while the token could be presented");
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(revoked.split('.').nth(1).unwrap()).unwrap();
    let exp_ms = serde_json::from_slice::<Value>(&payload).unwrap()["exp"].as_i64().unwrap() * 1000;
    s.env.host.clock.advance(exp_ms - s.env.host.clock.now_ms_pub() + 86_400_000 - 60_000);
    s.env.platform("POST", "/api/v1/internal/maintenance", None);
    assert_eq!(listed(&s), 1, "kept until a day after the token's expiry");
    s.env.host.clock.advance(61_000);
    s.env.platform("POST", "/api/v1/internal/maintenance", None);
    assert_eq!(listed(&s), 0, "dropped a day after the token expired");
}

#[test]
fn signing_key_rotation_and_retirement_with_live_tokens() {
    let s = setup();
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let q = s.code(&mut b, &challenge);
    let t = s.exchange(&q["code"], &verifier).json();
    let old_at = t["access_token"].as_str().unwrap().to_string();
    let kid_of = |jwt: &str| UntrustedToken::new(jwt).unwrap().header().key_id.clone().unwrap();
    let old_kid = kid_of(&old_at);
    let introspect = |token: &str| s.form("/t/demo/oauth/introspect", &[("token", token)]).json()["active"].clone();

    // Rotation: a new key signs from now on, the old one still verifies.
    let r = s.env.platform("POST", "/api/v1/internal/tenants/demo/signing-keys", None);
    assert_eq!(r.status, 201, "{}", r.body);
    let new_kid = r.json()["kid"].as_str().unwrap().to_string();
    assert_ne!(new_kid, old_kid);
    assert_eq!(s.userinfo(&old_at).status, 200, "a token signed before the rotation still works");
    assert_eq!(introspect(&old_at), true);
    let r = s.token(&[("grant_type", "refresh_token"), ("refresh_token", t["refresh_token"].as_str().unwrap())]);
    let new_at = r.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(kid_of(&new_at), new_kid, "new tokens carry the new kid");
    assert_eq!(kid_of(r.json()["id_token"].as_str().unwrap()), new_kid);
    verify_jwt(&s.env, &new_at);
    verify_jwt(&s.env, &old_at);

    // Retiring the old key ends what it signed; the new key's tokens live on.
    let r = s.env.platform("POST", &format!("/api/v1/internal/tenants/demo/signing-keys/{old_kid}/retire"), None);
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(s.userinfo(&old_at).status, 401);
    assert_eq!(introspect(&old_at), false);
    assert_eq!(s.userinfo(&new_at).status, 200);
    assert_eq!(introspect(&new_at), true);
    let jwks = s.env.send("GET", "/t/demo/.well-known/jwks.json", &[], b"", "x").json();
    assert!(jwks["keys"].as_array().unwrap().iter().all(|k| k["kid"] != old_kid.as_str()));
}
