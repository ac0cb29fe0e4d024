//! The internal API's guard: every internal route × every kind of
//! credential, built from the router's route list, so a new internal route
//! without a guard fails here.

use super::native_host_support::*;
use chrono::{DateTime, Duration, Utc};
use jwt_compact::alg::Es256;
use jwt_compact::{AlgorithmExt, Claims, Header};
use tessera_core::web::router::{Scope, ROUTES};

/// Who may call each internal route, written out by hand (not read from the
/// server's own guard): the least role that may, or none for a public route.
/// Auditors read, operators also run tenants, admins also manage keys, run
/// maintenance and read the dev mailbox.
const LEAST_ROLE: &[(&str, &str, Option<&str>)] = &[
    ("GET", "/api/v1/internal/.well-known/jwks.json", None),
    ("GET", "/api/v1/internal/tenants", Some("platform-auditor")),
    ("GET", "/api/v1/internal/tenants/{tenant}", Some("platform-auditor")),
    ("GET", "/api/v1/internal/tenants/{tenant}/api-keys", Some("platform-auditor")),
    ("GET", "/api/v1/internal/tenants/{tenant}/signing-keys", Some("platform-auditor")),
    ("GET", "/api/v1/internal/tenants/{tenant}/domains", Some("platform-auditor")),
    ("GET", "/api/v1/internal/tenants/{tenant}/logs", Some("platform-auditor")),
    ("GET", "/api/v1/internal/api-keys", Some("platform-auditor")),
    ("GET", "/api/v1/internal/audit", Some("platform-auditor")),
    ("POST", "/api/v1/internal/auth/token", Some("platform-auditor")),
    ("POST", "/api/v1/internal/tenants", Some("platform-operator")),
    ("PATCH", "/api/v1/internal/tenants/{tenant}", Some("platform-operator")),
    ("DELETE", "/api/v1/internal/tenants/{tenant}", Some("platform-operator")),
    ("POST", "/api/v1/internal/tenants/{tenant}/domains", Some("platform-operator")),
    ("DELETE", "/api/v1/internal/tenants/{tenant}/domains/{domain}", Some("platform-operator")),
    ("POST", "/api/v1/internal/tenants/{tenant}/api-keys", Some("platform-admin")),
    ("DELETE", "/api/v1/internal/tenants/{tenant}/api-keys/{key_id}", Some("platform-admin")),
    ("POST", "/api/v1/internal/tenants/{tenant}/signing-keys", Some("platform-admin")),
    ("POST", "/api/v1/internal/tenants/{tenant}/signing-keys/{kid}/retire", Some("platform-admin")),
    ("POST", "/api/v1/internal/api-keys", Some("platform-admin")),
    ("POST", "/api/v1/internal/api-keys/{key_id}/rotate", Some("platform-admin")),
    ("DELETE", "/api/v1/internal/api-keys/{key_id}", Some("platform-admin")),
    ("POST", "/api/v1/internal/platform-signing-keys", Some("platform-admin")),
    ("POST", "/api/v1/internal/maintenance", Some("platform-admin")),
    ("GET", "/api/v1/internal/dev/mailbox", Some("platform-admin")),
    ("POST", "/api/v1/internal/dev/bench/argon2", Some("platform-admin")),
];

fn rank(role: &str) -> u8 {
    match role {
        "platform-auditor" => 1,
        "platform-operator" => 2,
        "platform-admin" => 3,
        other => panic!("unknown role {other}"),
    }
}

const IDP: &str = "https://idp.example.test";

/// An external issuer the platform trusts, with a key the test holds.
struct TrustedIdp {
    key: p256::ecdsa::SigningKey,
    kid: String,
}

impl TrustedIdp {
    fn install(env: &Env) -> Self {
        let key = p256::ecdsa::SigningKey::from_slice(&[42u8; 32]).unwrap();
        let jwk: Value =
            serde_json::from_str(&tessera_core::keys::PublicJwk::from_verifying_key(key.verifying_key()).to_json())
                .unwrap();
        let kid = jwk["kid"].as_str().unwrap().to_string();
        env.host.set_var("PLATFORM_JWT_TRUSTED", &json!([{ "issuer": IDP, "jwks": { "keys": [jwk] } }]).to_string());
        TrustedIdp { key, kid }
    }

    fn token(&self, env: &Env, f: impl FnOnce(&mut Value, &mut Claims<Value>)) -> String {
        let now = DateTime::<Utc>::from_timestamp_millis(env.host.clock.now_ms_pub()).unwrap();
        let mut custom = json!({
            "iss": IDP, "sub": "alice@ops", "aud": "tessera-platform", "role": "platform-admin",
            "jti": format!("jti-{}", rand_suffix()),
        });
        let mut claims = Claims::new(json!({}));
        claims.issued_at = Some(now);
        claims.not_before = Some(now);
        claims.expiration = Some(now + Duration::seconds(300));
        f(&mut custom, &mut claims);
        claims.custom = custom;
        Es256.token(&Header::empty().with_key_id(self.kid.clone()), &claims, &self.key).unwrap()
    }
}

fn rand_suffix() -> String {
    let mut b = [0u8; 8];
    getrandom::getrandom(&mut b).unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn create_key(env: &Env, role: &str, expires: Option<i64>) -> (String, String) {
    let mut body = json!({ "name": format!("{role} key"), "role": role });
    if let Some(e) = expires {
        body["expires_in_seconds"] = e.into();
    }
    let r = env.platform("POST", "/api/v1/internal/api-keys", Some(body));
    assert_eq!(r.status, 201, "{}", r.body);
    (r.json()["id"].as_str().unwrap().to_string(), r.json()["key"].as_str().unwrap().to_string())
}

fn mint(env: &Env, key: &str, body: Option<Value>) -> String {
    let r = env.api("POST", "/api/v1/internal/auth/token", key, body);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["access_token"].as_str().unwrap().to_string()
}

fn concrete(path: &str) -> String {
    path.replace("{tenant}", "ghost")
        .replace("{key_id}", "pak_missing")
        .replace("{kid}", "missing")
        .replace("{domain}", "missing.example.com")
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    Unauthorized,
    /// Allowed if the role has the permission, else 403.
    Role(&'static str),
    /// A JWT: like the role, but it may never mint tokens.
    JwtRole(&'static str),
}

#[test]
fn every_internal_route_by_every_credential() {
    let env = Env::new();
    let tenant_key = env.tenant("matrix");
    let idp = TrustedIdp::install(&env);

    let (_, auditor) = create_key(&env, "platform-auditor", None);
    let (_, operator) = create_key(&env, "platform-operator", None);
    let (_, admin) = create_key(&env, "platform-admin", None);
    let (_, expiring) = create_key(&env, "platform-admin", Some(60));
    let (revoked_id, revoked) = create_key(&env, "platform-admin", None);
    assert_eq!(env.platform("DELETE", &format!("/api/v1/internal/api-keys/{revoked_id}"), None).status, 204);
    let (rotated_id, rotated) = create_key(&env, "platform-admin", None);
    let r = env.platform(
        "POST",
        &format!("/api/v1/internal/api-keys/{rotated_id}/rotate"),
        Some(json!({ "overlap_seconds": 60 })),
    );
    assert_eq!(r.status, 201);
    env.host.clock.advance(61_000);

    // A tenant-level OAuth-style token: signed by the tenant's own key.
    let view = tessera_native::HostView::new(&env.host);
    let tenant_id =
        env.platform("GET", "/api/v1/internal/tenants/matrix", None).json()["id"].as_str().unwrap().to_string();
    let (tkid, tsk) =
        pollster::block_on(tessera_core::keys::active_signing_key(&view, &tessera_core::types::TenantId(tenant_id)))
            .unwrap();
    let now = DateTime::<Utc>::from_timestamp_millis(env.host.clock.now_ms_pub()).unwrap();
    let mut tc = Claims::new(
        json!({ "iss": "http://127.0.0.1:8787/t/matrix", "sub": "client", "aud": "tessera-platform", "jti": "t1", "role": "platform-admin" }),
    );
    tc.expiration = Some(now + Duration::seconds(300));
    let tenant_token = Es256.token(&Header::empty().with_key_id(tkid), &tc, tsk.expose()).unwrap();

    let good = mint(&env, &admin, None);
    let mut bad_sig = good.clone();
    let last = bad_sig.pop().unwrap();
    bad_sig.push(if last == 'A' { 'B' } else { 'A' });
    let replayed = mint(&env, &admin, None);
    assert_eq!(env.api("GET", "/api/v1/internal/tenants", &replayed, None).status, 200);

    let static_creds: Vec<(&str, String, Expect)> = vec![
        ("none", String::new(), Expect::Unauthorized),
        ("malformed", "not a credential".into(), Expect::Unauthorized),
        ("wrong key", "tsk_000000000000_wrongwrongwrong".into(), Expect::Unauthorized),
        ("wrong secret, real prefix", format!("{}x", &admin[..admin.len() - 1]), Expect::Unauthorized),
        ("expired key", expiring, Expect::Unauthorized),
        ("revoked key", revoked, Expect::Unauthorized),
        ("rotated out after overlap", rotated, Expect::Unauthorized),
        ("tenant API key", tenant_key, Expect::Unauthorized),
        ("tenant-signed token", tenant_token, Expect::Unauthorized),
        ("JWT bad signature", bad_sig, Expect::Unauthorized),
        ("JWT wrong aud", idp.token(&env, |c, _| c["aud"] = "someone-else".into()), Expect::Unauthorized),
        (
            "JWT expired",
            idp.token(&env, |_, cl| cl.expiration = Some(now - Duration::seconds(120))),
            Expect::Unauthorized,
        ),
        (
            "JWT not yet valid",
            idp.token(&env, |_, cl| cl.not_before = Some(now + Duration::seconds(600))),
            Expect::Unauthorized,
        ),
        (
            "JWT too long-lived",
            idp.token(&env, |_, cl| cl.expiration = Some(now + Duration::hours(5))),
            Expect::Unauthorized,
        ),
        ("JWT unknown issuer", idp.token(&env, |c, _| c["iss"] = "https://evil.test".into()), Expect::Unauthorized),
        ("JWT non-platform role", idp.token(&env, |c, _| c["role"] = "tenant-admin".into()), Expect::Unauthorized),
        (
            "JWT without jti",
            idp.token(&env, |c, _| {
                c.as_object_mut().unwrap().remove("jti");
            }),
            Expect::Unauthorized,
        ),
        ("JWT replayed jti", replayed, Expect::Unauthorized),
        ("auditor key", auditor.clone(), Expect::Role("platform-auditor")),
        ("operator key", operator.clone(), Expect::Role("platform-operator")),
        ("admin key", admin.clone(), Expect::Role("platform-admin")),
        ("bootstrap key", PLATFORM_KEY.into(), Expect::Role("platform-admin")),
    ];

    let internal: Vec<_> = ROUTES.iter().filter(|r| r.path.starts_with("/api/v1/internal/")).collect();
    assert_eq!(internal.len(), LEAST_ROLE.len(), "every internal route is in the hand-written table, and no other");
    for route in internal {
        assert_eq!(route.scope, Scope::Platform);
        let least = LEAST_ROLE
            .iter()
            .find(|(m, p, _)| *m == route.method && *p == route.path)
            .unwrap_or_else(|| panic!("{} {} is not in LEAST_ROLE", route.method, route.path))
            .2;
        let path = concrete(route.path);
        let body = matches!(route.method, "POST" | "PATCH").then(|| json!({}));
        let send = |cred: &str| env.api(route.method, &path, cred, body.clone());
        // What a platform admin gets: the status every allowed caller must get.
        let baseline = send(PLATFORM_KEY).status;
        assert!(![401, 403].contains(&baseline), "{} {}: admin got {baseline}", route.method, route.path);

        // Fresh single-use JWTs for each route.
        let mut creds = static_creds.clone();
        creds.push(("admin JWT (ours)", mint(&env, &admin, None), Expect::JwtRole("platform-admin")));
        creds.push(("auditor JWT (ours)", mint(&env, &auditor, None), Expect::JwtRole("platform-auditor")));
        creds.push((
            "admin JWT downscoped to operator",
            mint(&env, &admin, Some(json!({ "role": "platform-operator" }))),
            Expect::JwtRole("platform-operator"),
        ));
        creds.push((
            "trusted IdP operator JWT",
            idp.token(&env, |c, _| c["role"] = "platform-operator".into()),
            Expect::JwtRole("platform-operator"),
        ));

        for (name, cred, expect) in creds {
            let r = send(&cred);
            let want = match (least, expect) {
                (None, _) => baseline,
                (Some(_), Expect::Unauthorized) => 401,
                (Some(least), Expect::Role(role) | Expect::JwtRole(role)) => {
                    // A JWT cannot mint another JWT.
                    let jwt_minting =
                        matches!(expect, Expect::JwtRole(_)) && route.path == "/api/v1/internal/auth/token";
                    if rank(role) < rank(least) || jwt_minting {
                        403
                    } else {
                        baseline
                    }
                }
            };
            assert_eq!(r.status, want, "{} {} with {name}: {}", route.method, route.path, r.body);
            if r.status == 401 {
                assert!(r.header("www-authenticate").starts_with("Bearer"), "{name}");
            }
            if [401, 403].contains(&r.status) {
                assert_eq!(r.header("content-type"), "application/problem+json");
                assert!(!r.body.contains(&cred[cred.len().saturating_sub(12)..]) || cred.is_empty(), "echoed a secret");
            }
        }
    }
}

#[test]
fn key_rotation_overlap() {
    let env = Env::new();
    let (id, old) = create_key(&env, "platform-operator", None);
    let r = env.platform(
        "POST",
        &format!("/api/v1/internal/api-keys/{id}/rotate"),
        Some(json!({ "overlap_seconds": 3600 })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let new = r.json()["key"].as_str().unwrap().to_string();
    assert_eq!(r.json()["role"], "platform-operator");
    assert_ne!(new, old);
    // Inside the overlap both work.
    assert_eq!(env.api("GET", "/api/v1/internal/tenants", &old, None).status, 200);
    assert_eq!(env.api("GET", "/api/v1/internal/tenants", &new, None).status, 200);
    // A rotated key cannot be rotated again (one successor only).
    assert_eq!(env.platform("POST", &format!("/api/v1/internal/api-keys/{id}/rotate"), None).status, 409);
    env.host.clock.advance(3_600_001);
    assert_eq!(env.api("GET", "/api/v1/internal/tenants", &old, None).status, 401);
    assert_eq!(env.api("GET", "/api/v1/internal/tenants", &new, None).status, 200);
    // Listing never shows a secret, and shows last use.
    let listed = env.platform("GET", "/api/v1/internal/api-keys", None);
    assert!(!listed.body.contains(&new[18..]));
    let keys = listed.json()["api_keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().all(|k| k["last_used_at"].is_i64()));
    assert_eq!(
        env.platform("POST", &format!("/api/v1/internal/api-keys/{id}/rotate"), Some(json!({ "overlap_seconds": -1 })))
            .status,
        400
    );
}

#[test]
fn jwts_are_single_use_and_published() {
    let env = Env::new();
    let (_, admin) = create_key(&env, "platform-admin", None);
    let t = mint(&env, &admin, Some(json!({ "ttl_seconds": 120 })));
    assert_eq!(env.api("GET", "/api/v1/internal/tenants", &t, None).status, 200);
    assert_eq!(env.api("GET", "/api/v1/internal/tenants", &t, None).status, 401, "replayed jti");
    // A key cannot mint above its role, nor for long.
    let (_, auditor) = create_key(&env, "platform-auditor", None);
    assert_eq!(
        env.api("POST", "/api/v1/internal/auth/token", &auditor, Some(json!({ "role": "platform-admin" }))).status,
        403
    );
    assert_eq!(
        env.api("POST", "/api/v1/internal/auth/token", &admin, Some(json!({ "ttl_seconds": 86400 }))).status,
        400
    );
    // Expired after its lifetime.
    let t = mint(&env, &admin, Some(json!({ "ttl_seconds": 60 })));
    env.host.clock.advance(120_000);
    assert_eq!(env.api("GET", "/api/v1/internal/tenants", &t, None).status, 401);

    // The JWKS is public and verifies the tokens; rotation keeps the old key.
    let jwks = env.send("GET", "/api/v1/internal/.well-known/jwks.json", &[], b"", "x").json();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    let before = mint(&env, &admin, None);
    assert_eq!(env.platform("POST", "/api/v1/internal/platform-signing-keys", None).status, 201);
    let jwks = env.send("GET", "/api/v1/internal/.well-known/jwks.json", &[], b"", "x").json();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    assert_eq!(env.api("GET", "/api/v1/internal/tenants", &before, None).status, 200, "old key still verifies");
    let after = mint(&env, &admin, None);
    let kid = |t: &str| jwt_compact::UntrustedToken::new(t).unwrap().header().key_id.clone().unwrap();
    assert_ne!(kid(&before), kid(&after));
    assert_eq!(jwks["keys"][0]["kid"], kid(&after).as_str());
}

#[test]
fn internal_calls_are_audited() {
    let env = Env::new();
    let (key_id, auditor) = create_key(&env, "platform-auditor", None);
    env.tenant("audited");
    assert_eq!(env.api("DELETE", "/api/v1/internal/tenants/audited", &auditor, None).status, 403);
    assert_eq!(env.api("GET", "/api/v1/internal/tenants", "nope", None).status, 401);
    let logs = env.platform("GET", "/api/v1/internal/audit?limit=10", None).json()["logs"].as_array().unwrap().clone();
    // Newest first: this very read is not in its own answer.
    assert_eq!(logs[0]["details"]["status"], 401);
    assert_eq!(logs[0]["details"]["actor"], "anonymous");
    assert_eq!(logs[0]["type"], "fapi");
    assert_eq!(logs[1]["details"]["actor"], key_id.as_str());
    assert_eq!(logs[1]["details"]["tenant"], "audited");
    assert_eq!(logs[1]["details"]["status"], 403);
    assert_eq!(logs[1]["description"], "DELETE /api/v1/internal/tenants/{tenant}");
    assert!(logs.iter().any(|e| e["details"]["actor"] == "bootstrap-key" && e["details"]["status"] == 201));
    assert!(logs.iter().all(|e| e["category"].as_str().unwrap().starts_with("management.")));
}
