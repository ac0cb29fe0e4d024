//! SCIM 2.0 provisioning over the real core and SQLite: tokens and their
//! tenant, the Users and Groups endpoints as Okta and Entra ID drive them,
//! deactivation ending grants, lists, ETags, the discovery documents, and
//! the index a userName lookup uses.

use super::native_host_support::*;
use super::oauth::{pkce, setup, Setup};

const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Switches SCIM on for a tenant and returns a new token.
fn enable(env: &Env, slug: &str, key: &str) -> String {
    let r = env.api("PATCH", &format!("/t/{slug}/api/v1/scim"), key, Some(json!({ "enabled": true })));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["base_url"], format!("http://127.0.0.1:8787/t/{slug}/scim/v2"));
    token(env, slug, key, json!({ "name": "Okta" }))
}

fn token(env: &Env, slug: &str, key: &str, body: Value) -> String {
    let r = env.api("POST", &format!("/t/{slug}/api/v1/scim/tokens"), key, Some(body));
    assert_eq!(r.status, 201, "{}", r.body);
    let t = r.json()["token"].as_str().unwrap().to_string();
    assert!(t.starts_with("tsc_"));
    t
}

/// A SCIM request as an IdP sends it.
fn scim(env: &Env, method: &str, uri: &str, token: &str, body: Option<Value>) -> Resp {
    scim_with(env, method, uri, token, body, &[])
}

fn scim_with(env: &Env, method: &str, uri: &str, token: &str, body: Option<Value>, extra: &[(&str, &str)]) -> Resp {
    let auth = format!("Bearer {token}");
    let b = body.map(|v| v.to_string()).unwrap_or_default();
    let mut h = vec![("authorization", auth.as_str())];
    if !b.is_empty() {
        h.push(("content-type", "application/scim+json"));
    }
    h.extend_from_slice(extra);
    env.send(method, uri, &h, b.as_bytes(), "10.0.0.7")
}

fn assert_scim_error(r: &Resp, status: u16, scim_type: Option<&str>) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.header("content-type"), "application/scim+json");
    let e = r.json();
    assert_eq!(e["schemas"], json!([ERROR]), "{}", r.body);
    assert_eq!(e["status"], status.to_string());
    match scim_type {
        Some(t) => assert_eq!(e["scimType"], t, "{}", r.body),
        None => assert!(e.get("scimType").is_none(), "{}", r.body),
    }
    assert!(e["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

fn okta_user(user_name: &str) -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "userName": user_name,
        "name": { "givenName": "Ana", "familyName": "Lima" },
        "emails": [{ "primary": true, "value": user_name, "type": "work" }],
        "displayName": "Ana Lima",
        "locale": "en-US",
        "externalId": "00u1okta",
        "active": true,
        "password": "correct horse battery",
        ENTERPRISE: { "department": "R&D", "manager": { "value": "usr_x" } }
    })
}

#[test]
fn tokens_work_for_their_own_tenant_until_revoked_expired_or_rotated_out() {
    let env = Env::new();
    let key = env.tenant("demo");
    let b_key = env.tenant("other");
    // Off until switched on: a token alone is not enough.
    let early = token(&env, "demo", &key, json!({ "name": "early" }));
    let r = scim(&env, "GET", "/t/demo/scim/v2/Users", &early, None);
    assert_scim_error(&r, 403, None);
    let t = enable(&env, "demo", &key);
    let b_token = enable(&env, "other", &b_key);
    assert_eq!(scim(&env, "GET", "/t/demo/scim/v2/Users", &t, None).status, 200);
    assert_eq!(scim(&env, "GET", "/t/demo/scim/v2/Users", &early, None).status, 200);
    for bad in [b_token.as_str(), "", "tsc_nope_nope", &key, &format!("{t}x")] {
        let r = scim(&env, "GET", "/t/demo/scim/v2/Users", bad, None);
        assert_scim_error(&r, 401, None);
        assert!(!r.body.contains("tsc_"), "no token in errors: {}", r.body);
    }
    // The list shows no secret; another tenant's token id is unknown here.
    let list = env.api("GET", "/t/demo/api/v1/scim/tokens", &key, None).json();
    let tokens = list["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2);
    assert!(!list.to_string().contains(&t[12..]), "the secret is never listed");
    let b_id = env.api("GET", "/t/other/api/v1/scim/tokens", &b_key, None).json()["tokens"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(env.api("DELETE", &format!("/t/demo/api/v1/scim/tokens/{b_id}"), &key, None).status, 404);
    assert_eq!(env.api("POST", &format!("/t/demo/api/v1/scim/tokens/{b_id}/rotate"), &key, None).status, 404);
    assert_eq!(scim(&env, "GET", "/t/other/scim/v2/Users", &b_token, None).status, 200);

    // Revoked: refused at once.
    let early_id = tokens.iter().find(|x| x["name"] == "early").unwrap()["id"].as_str().unwrap().to_string();
    assert_eq!(env.api("DELETE", &format!("/t/demo/api/v1/scim/tokens/{early_id}"), &key, None).status, 204);
    assert_scim_error(&scim(&env, "GET", "/t/demo/scim/v2/Users", &early, None), 401, None);

    // Rotated: both work during the overlap, only the new one after it.
    let t_id = env.api("GET", "/t/demo/api/v1/scim/tokens", &key, None).json()["tokens"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = env.api(
        "POST",
        &format!("/t/demo/api/v1/scim/tokens/{t_id}/rotate"),
        &key,
        Some(json!({ "overlap_seconds": 3600 })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let rotated = r.json()["token"].as_str().unwrap().to_string();
    let again = env.api("POST", &format!("/t/demo/api/v1/scim/tokens/{t_id}/rotate"), &key, None);
    assert_eq!(again.status, 409, "a rotated token is not rotated twice: {}", again.body);
    env.host.clock.advance(3_500_000);
    assert_eq!(scim(&env, "GET", "/t/demo/scim/v2/Users", &t, None).status, 200);
    assert_eq!(scim(&env, "GET", "/t/demo/scim/v2/Users", &rotated, None).status, 200);
    env.host.clock.advance(200_000);
    assert_scim_error(&scim(&env, "GET", "/t/demo/scim/v2/Users", &t, None), 401, None);
    assert_eq!(scim(&env, "GET", "/t/demo/scim/v2/Users", &rotated, None).status, 200);

    // Expired: a token with a lifetime stops at its end.
    let short = token(&env, "demo", &key, json!({ "name": "short", "lifetime_seconds": 120 }));
    assert_eq!(scim(&env, "GET", "/t/demo/scim/v2/Users", &short, None).status, 200);
    env.host.clock.advance(121_000);
    assert_scim_error(&scim(&env, "GET", "/t/demo/scim/v2/Users", &short, None), 401, None);
    let r = env.api("POST", "/t/demo/api/v1/scim/tokens", &key, Some(json!({ "name": "x", "lifetime_seconds": 1 })));
    assert_eq!(r.status, 400, "{}", r.body);
}

#[test]
fn a_user_is_provisioned_signs_in_is_deactivated_and_deprovisioned() {
    let env = Env::new();
    let key = env.tenant("demo");
    let t = enable(&env, "demo", &key);
    // Okta looks the user up before creating it.
    let r = scim(&env, "GET", "/t/demo/scim/v2/Users?filter=userName%20eq%20%22ana%40corp.example%22", &t, None);
    assert_eq!(r.json()["totalResults"], 0, "{}", r.body);
    let r = scim(&env, "POST", "/t/demo/scim/v2/Users", &t, Some(okta_user("Ana@Corp.Example")));
    assert_eq!(r.status, 201, "{}", r.body);
    let u = r.json();
    let id = u["id"].as_str().unwrap().to_string();
    assert_eq!(r.header("location"), format!("http://127.0.0.1:8787/t/demo/scim/v2/Users/{id}"));
    assert_eq!(u["meta"]["location"], r.header("location"));
    assert_eq!(r.header("etag"), u["meta"]["version"].as_str().unwrap());
    assert_eq!(u["userName"], "Ana@Corp.Example", "kept as sent");
    assert_eq!(u["active"], true);
    assert_eq!(u["name"]["givenName"], "Ana");
    assert_eq!(u[ENTERPRISE]["department"], "R&D");
    assert_eq!(u["schemas"], json!([USER, ENTERPRISE]));
    assert!(u.get("password").is_none(), "never returned");
    assert_eq!(u["meta"]["resourceType"], "User");
    assert!(u["meta"]["created"].as_str().unwrap().starts_with("2027-01-15T"), "{}", u["meta"]);

    // The user is the tenant's: the management API sees the mapped fields,
    // and the password set over SCIM signs in.
    let mgmt = env.api("GET", &format!("/t/demo/api/v1/users/{id}"), &key, None).json();
    assert_eq!((mgmt["email"].as_str(), mgmt["name"].as_str()), (Some("ana@corp.example"), Some("Ana Lima")));
    assert_eq!(mgmt["email_verified"], true);
    let mut b = Browser::default();
    assert_eq!(env.login(&mut b, "demo", "ana@corp.example", "correct horse battery").status, 303);

    // The lookup ignores userName's case (caseExact false); duplicates are
    // 409 uniqueness, whatever the case.
    let r = scim(&env, "GET", "/t/demo/scim/v2/Users?filter=userName%20eq%20%22ANA%40corp.example%22", &t, None);
    assert_eq!(r.json()["totalResults"], 1, "{}", r.body);
    assert_eq!(r.json()["Resources"][0]["id"], id.as_str());
    let r = scim(&env, "POST", "/t/demo/scim/v2/Users", &t, Some(okta_user("ana@corp.EXAMPLE")));
    assert_scim_error(&r, 409, Some("uniqueness"));

    // Entra ID deactivates with a capitalised op, no path and a string
    // boolean: the user is blocked and cannot sign in.
    let etag = scim(&env, "GET", &format!("/t/demo/scim/v2/Users/{id}"), &t, None).header("etag").to_string();
    let r = scim(
        &env,
        "PATCH",
        &format!("/t/demo/scim/v2/Users/{id}"),
        &t,
        Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "Replace", "value": { "active": "False" } }] })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["active"], false);
    assert_ne!(r.header("etag"), etag, "a change is a new version");
    assert_eq!(env.api("GET", &format!("/t/demo/api/v1/users/{id}"), &key, None).json()["blocked"], true);
    let mut b2 = Browser::default();
    assert_ne!(env.login(&mut b2, "demo", "ana@corp.example", "correct horse battery").status, 303);

    // A write with the old version is refused, and changes nothing.
    let r = scim_with(
        &env,
        "PUT",
        &format!("/t/demo/scim/v2/Users/{id}"),
        &t,
        Some(okta_user("ana@corp.example")),
        &[("if-match", &etag)],
    );
    assert_scim_error(&r, 412, None);
    let now = scim(&env, "GET", &format!("/t/demo/scim/v2/Users/{id}"), &t, None);
    assert_eq!(now.json()["active"], false);
    // With the current version it goes through: PUT replaces everything.
    let mut replacement = okta_user("ana@corp.example");
    replacement["displayName"] = "Ana M. Lima".into();
    replacement.as_object_mut().unwrap().remove("locale");
    let current = now.header("etag").to_string();
    let r = scim_with(
        &env,
        "PUT",
        &format!("/t/demo/scim/v2/Users/{id}"),
        &t,
        Some(replacement),
        &[("if-match", &current)],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((r.json()["active"].as_bool(), r.json().get("locale")), (Some(true), None));
    assert_eq!(env.api("GET", &format!("/t/demo/api/v1/users/{id}"), &key, None).json()["name"], "Ana M. Lima");

    // Bad input: the SCIM error schema with its scimType, nothing stored.
    for (body, scim_type) in [
        (json!({ "schemas": [USER], "userName": 7 }), "invalidValue"),
        (json!({ "schemas": [USER], "userName": "no-address" }), "invalidValue"),
        (json!({ "schemas": [USER], "emails": [{ "value": "x@y.io" }] }), "invalidValue"),
        (json!({ "schemas": [USER], "userName": "b@corp.example", "password": "short" }), "invalidValue"),
    ] {
        let r = scim(&env, "POST", "/t/demo/scim/v2/Users", &t, Some(body.clone()));
        assert_scim_error(&r, 400, Some(scim_type));
    }
    let r = env.send(
        "POST",
        "/t/demo/scim/v2/Users",
        &[("authorization", &format!("Bearer {t}")), ("content-type", "application/scim+json")],
        b"{not json",
        "10.0.0.7",
    );
    assert_scim_error(&r, 400, Some("invalidSyntax"));
    let r = scim(
        &env,
        "PATCH",
        &format!("/t/demo/scim/v2/Users/{id}"),
        &t,
        Some(
            json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "emails[type eq \"work\"", "value": "x" }] }),
        ),
    );
    assert_scim_error(&r, 400, Some("invalidPath"));
    assert_eq!(scim(&env, "GET", "/t/demo/scim/v2/Users", &t, None).json()["totalResults"], 1);

    // Deprovisioning (the default policy blocks): gone from SCIM, kept and
    // blocked in Tessera; provisioning the userName again brings it back.
    let r = scim(&env, "DELETE", &format!("/t/demo/scim/v2/Users/{id}"), &t, None);
    assert_eq!(r.status, 204, "{}", r.body);
    assert_scim_error(&scim(&env, "GET", &format!("/t/demo/scim/v2/Users/{id}"), &t, None), 404, None);
    assert_scim_error(&scim(&env, "DELETE", &format!("/t/demo/scim/v2/Users/{id}"), &t, None), 404, None);
    let kept = env.api("GET", &format!("/t/demo/api/v1/users/{id}"), &key, None).json();
    assert_eq!(kept["blocked"], true);
    let r = scim(&env, "POST", "/t/demo/scim/v2/Users", &t, Some(okta_user("ana@corp.example")));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["id"], id.as_str(), "the same account again");
    assert_eq!(r.json()["active"], true);

    // Under the delete policy the account goes.
    let r = env.api("PATCH", "/t/demo/api/v1/scim", &key, Some(json!({ "deprovision": "delete" })));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(scim(&env, "DELETE", &format!("/t/demo/scim/v2/Users/{id}"), &t, None).status, 204);
    assert_eq!(env.api("GET", &format!("/t/demo/api/v1/users/{id}"), &key, None).status, 404);

    // Every change was audited as a SCIM event.
    let logs = env.api("GET", "/t/demo/api/v1/logs?type=scim_operation", &key, None).json();
    let descriptions: Vec<&str> =
        logs["logs"].as_array().unwrap().iter().map(|l| l["description"].as_str().unwrap()).collect();
    for what in [
        "SCIM: user provisioned",
        "SCIM: user patched",
        "SCIM: user replaced",
        "SCIM: user deprovisioned (blocked)",
        "SCIM: user deprovisioned (deleted)",
    ] {
        assert!(descriptions.contains(&what), "{what} in {descriptions:?}");
    }
}

#[test]
fn deactivation_ends_sessions_and_refresh_tokens() {
    let s: Setup = setup();
    let t = enable(&s.env, "demo", &s.key);
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let q = s.code(&mut b, &challenge);
    let tokens = s.exchange(&q["code"], &verifier).json();
    let rt = tokens["refresh_token"].as_str().unwrap();
    // Ana signed up before SCIM: she shows with userName = email.
    let r = scim(&s.env, "GET", &format!("/t/demo/scim/v2/Users/{}", s.user_id), &t, None);
    assert_eq!(r.json()["userName"], "ana@example.com", "{}", r.body);
    let r = scim(
        &s.env,
        "PATCH",
        &format!("/t/demo/scim/v2/Users/{}", s.user_id),
        &t,
        Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "active", "value": false }] })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // Active again: the grants stay ended (they were revoked, not only
    // refused while blocked).
    let r = scim(
        &s.env,
        "PATCH",
        &format!("/t/demo/scim/v2/Users/{}", s.user_id),
        &t,
        Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "active", "value": true }] })),
    );
    assert_eq!(r.json()["active"], true, "{}", r.body);
    let r = s.token(&[("grant_type", "refresh_token"), ("refresh_token", rt)]);
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["error"], "invalid_grant");
    // The session is gone too: the account page asks to sign in again.
    let r = s.env.get(&mut b, "/t/demo/account");
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.header("location").contains("/login"), "{}", r.header("location"));
}

#[test]
fn a_user_whose_email_is_another_users_user_name_is_deprovisioned_too() {
    let env = Env::new();
    let key = env.tenant("demo");
    let t = enable(&env, "demo", &key);
    // B is provisioned with userName "A@x.io" but another address; A then
    // signs up (through the API here) with a@x.io, and shows with that
    // userName too.
    let b = provision(&env, &t, "A@x.io", json!({ "emails": [{ "value": "b@x.io" }] }));
    let r = env.api("POST", "/t/demo/api/v1/users", &key, Some(json!({ "email": "a@x.io" })));
    let a = r.json()["id"].as_str().unwrap().to_string();
    let r = scim(&env, "DELETE", &format!("/t/demo/scim/v2/Users/{a}"), &t, None);
    assert_eq!(r.status, 204, "{}", r.body);
    assert_scim_error(&scim(&env, "GET", &format!("/t/demo/scim/v2/Users/{a}"), &t, None), 404, None);
    assert_eq!(env.api("GET", &format!("/t/demo/api/v1/users/{a}"), &key, None).json()["blocked"], true);
    assert_eq!(scim(&env, "GET", &format!("/t/demo/scim/v2/Users/{b}"), &t, None).status, 200);
}

#[test]
fn an_administrators_account_is_not_managed_through_scim() {
    let env = Env::new();
    let key = env.tenant("demo");
    let t = enable(&env, "demo", &key);
    let r =
        env.api("POST", "/t/demo/api/v1/users", &key, Some(json!({ "email": "root@example.com", "is_admin": true })));
    let id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(scim(&env, "GET", &format!("/t/demo/scim/v2/Users/{id}"), &t, None).status, 200);
    let set_password = json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "password", "value": "taken over now" }] });
    let r = scim(&env, "PATCH", &format!("/t/demo/scim/v2/Users/{id}"), &t, Some(set_password));
    assert_scim_error(&r, 403, None);
    assert_scim_error(&scim(&env, "DELETE", &format!("/t/demo/scim/v2/Users/{id}"), &t, None), 403, None);
    assert_eq!(env.api("GET", &format!("/t/demo/api/v1/users/{id}"), &key, None).json()["blocked"], false);
}

fn provision(env: &Env, t: &str, user_name: &str, extra: Value) -> String {
    let mut body = json!({ "schemas": [USER], "userName": user_name });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = scim(env, "POST", "/t/demo/scim/v2/Users", t, Some(body));
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["id"].as_str().unwrap().to_string()
}

fn names(r: &Resp) -> Vec<String> {
    r.json()["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap().to_string()).collect()
}

#[test]
fn lists_filter_sort_page_and_cut_attributes() {
    let env = Env::new();
    let key = env.tenant("demo");
    let t = enable(&env, "demo", &key);
    provision(&env, &t, "carl@x.io", json!({ "title": "CTO", "emails": [{ "value": "carl@x.io", "type": "work" }] }));
    provision(
        &env,
        &t,
        "ana@x.io",
        json!({ "title": "Engineer", "emails": [{ "value": "ana@home.io", "type": "home" }] }),
    );
    provision(&env, &t, "bob@y.io", json!({ "title": "engineer", "active": false }));
    provision(&env, &t, "dee@y.io", json!({ ENTERPRISE: { "department": "Sales" } }));
    let q = |query: &str| {
        let r = scim(&env, "GET", &format!("/t/demo/scim/v2/Users?{query}"), &t, None);
        assert_eq!(r.status, 200, "{query}: {}", r.body);
        r
    };
    let enc = |f: &str| form_urlencoded::byte_serialize(f.as_bytes()).collect::<String>();
    let filtered = |f: &str| {
        let mut n = names(&q(&format!("filter={}&sortBy=userName", enc(f))));
        n.sort();
        n
    };
    assert_eq!(filtered("userName ew \"@y.io\""), ["bob@y.io", "dee@y.io"]);
    assert_eq!(filtered("title eq \"ENGINEER\""), ["ana@x.io", "bob@y.io"], "caseExact false");
    assert_eq!(filtered("title sw \"eng\" and active eq true"), ["ana@x.io"]);
    assert_eq!(filtered("not (userName co \"@x.io\") or title eq \"CTO\""), ["bob@y.io", "carl@x.io", "dee@y.io"]);
    assert_eq!(filtered("emails[type eq \"work\" and value co \"carl\"]"), ["carl@x.io"]);
    assert_eq!(filtered(&format!("{ENTERPRISE}:department eq \"Sales\"")), ["dee@y.io"]);
    assert_eq!(filtered("title pr"), ["ana@x.io", "bob@y.io", "carl@x.io"]);
    assert_eq!(filtered("meta.created ge \"2020-01-01T00:00:00Z\"").len(), 4);
    assert_eq!(filtered("userName eq \"bob@y.io\" and active eq true"), Vec::<String>::new());

    // Sorted and paged: totalResults counts every match.
    let r = q("sortBy=userName&sortOrder=descending&startIndex=2&count=2");
    assert_eq!(names(&r), ["carl@x.io", "bob@y.io"]);
    assert_eq!((r.json()["totalResults"].as_i64(), r.json()["itemsPerPage"].as_i64()), (Some(4), Some(2)));
    assert_eq!(r.json()["startIndex"], 2);
    let r = q("count=0");
    assert_eq!((r.json()["totalResults"].as_i64(), names(&r).len()), (Some(4), 0));
    let r = q("startIndex=4&count=10");
    assert_eq!(names(&r).len(), 1);

    // Attributes: only what is asked (and id, schemas, meta).
    let r = q("attributes=userName,name.givenName&filter=userName%20eq%20%22ana%40x.io%22");
    let u = &r.json()["Resources"][0];
    let mut keys: Vec<&str> = u.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["id", "meta", "schemas", "userName"]);
    let r = q("excludedAttributes=emails,title");
    assert!(r.json()["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u.get("emails").is_none() && u.get("title").is_none()));

    // POST .search takes the same parameters in a body.
    let r = scim(
        &env,
        "POST",
        "/t/demo/scim/v2/Users/.search",
        &t,
        Some(
            json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName sw \"a\"", "attributes": ["userName"] }),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(names(&r), ["ana@x.io"]);

    // A malformed filter is a clear invalidFilter.
    for bad in ["userName eq", "userName zz \"a\"", "(userName eq \"a\"", "userName eq \"a\" and"] {
        let r = scim(&env, "GET", &format!("/t/demo/scim/v2/Users?filter={}", enc(bad)), &t, None);
        assert_scim_error(&r, 400, Some("invalidFilter"));
    }
    let r = scim(&env, "GET", "/t/demo/scim/v2/Users?count=abc", &t, None);
    assert_scim_error(&r, 400, Some("invalidValue"));
}

#[test]
fn groups_hold_members_that_idps_add_and_remove() {
    let env = Env::new();
    let key = env.tenant("demo");
    let t = enable(&env, "demo", &key);
    let ana = provision(&env, &t, "ana@x.io", json!({}));
    let bob = provision(&env, &t, "bob@x.io", json!({}));
    let r = scim(
        &env,
        "POST",
        "/t/demo/scim/v2/Groups",
        &t,
        Some(
            json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering", "externalId": "g1", "members": [{ "value": ana }] }),
        ),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let g = r.json();
    let gid = g["id"].as_str().unwrap().to_string();
    assert_eq!(g["members"][0]["value"], ana.as_str());
    assert_eq!(g["members"][0]["$ref"], format!("http://127.0.0.1:8787/t/demo/scim/v2/Users/{ana}"));
    // The user shows the group.
    let u = scim(&env, "GET", &format!("/t/demo/scim/v2/Users/{ana}"), &t, None).json();
    assert_eq!(u["groups"][0]["value"], gid.as_str());
    assert_eq!(u["groups"][0]["display"], "Engineering");

    // Entra ID: add a member, then remove one by a value filter; Okta:
    // remove naming the members in the value.
    let patch = |ops: Value| {
        scim(
            &env,
            "PATCH",
            &format!("/t/demo/scim/v2/Groups/{gid}"),
            &t,
            Some(json!({ "schemas": [PATCH], "Operations": ops })),
        )
    };
    let r = patch(json!([{ "op": "Add", "path": "members", "value": [{ "value": bob }] }]));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["members"].as_array().unwrap().len(), 2);
    let r = patch(json!([{ "op": "Remove", "path": format!("members[value eq \"{ana}\"]") }]));
    assert_eq!(r.json()["members"].as_array().unwrap().len(), 1);
    let r = patch(json!([{ "op": "remove", "path": "members", "value": [{ "value": bob }] }]));
    assert!(r.json().get("members").is_none(), "{}", r.body);
    let r = patch(
        json!([{ "op": "replace", "value": { "displayName": "Eng", "members": [{ "value": ana }, { "value": bob }] } }]),
    );
    assert_eq!(r.json()["displayName"], "Eng");
    // Members must be users of this tenant.
    let r = patch(json!([{ "op": "add", "path": "members", "value": [{ "value": "usr_nobody" }] }]));
    assert_scim_error(&r, 400, Some("invalidValue"));

    // Lists: by displayName (ignoring case), without members on request.
    let r = scim(
        &env,
        "GET",
        "/t/demo/scim/v2/Groups?filter=displayName%20eq%20%22eng%22&excludedAttributes=members",
        &t,
        None,
    );
    assert_eq!(r.json()["totalResults"], 1, "{}", r.body);
    assert!(r.json()["Resources"][0].get("members").is_none());
    let r = scim(
        &env,
        "GET",
        &format!(
            "/t/demo/scim/v2/Groups?filter={}",
            form_urlencoded::byte_serialize(format!("members[value eq \"{bob}\"]").as_bytes()).collect::<String>()
        ),
        &t,
        None,
    );
    assert_eq!(r.json()["totalResults"], 1, "{}", r.body);

    // A deprovisioned user leaves their groups.
    assert_eq!(scim(&env, "DELETE", &format!("/t/demo/scim/v2/Users/{bob}"), &t, None).status, 204);
    let g = scim(&env, "GET", &format!("/t/demo/scim/v2/Groups/{gid}"), &t, None);
    assert_eq!(g.json()["members"].as_array().unwrap().len(), 1);
    // A stale If-Match is refused.
    let r = scim_with(&env, "DELETE", &format!("/t/demo/scim/v2/Groups/{gid}"), &t, None, &[("if-match", "W/\"old\"")]);
    assert_scim_error(&r, 412, None);
    let r = scim_with(
        &env,
        "DELETE",
        &format!("/t/demo/scim/v2/Groups/{gid}"),
        &t,
        None,
        &[("if-match", g.header("etag"))],
    );
    assert_eq!(r.status, 204);
    assert_scim_error(&scim(&env, "GET", &format!("/t/demo/scim/v2/Groups/{gid}"), &t, None), 404, None);

    // With group sync off, /Groups is not served nor announced.
    env.api("PATCH", "/t/demo/api/v1/scim", &key, Some(json!({ "groups_enabled": false })));
    assert_scim_error(&scim(&env, "GET", "/t/demo/scim/v2/Groups", &t, None), 404, None);
    let types = scim(&env, "GET", "/t/demo/scim/v2/ResourceTypes", &t, None).json();
    assert_eq!(types["totalResults"], 1);
}

#[test]
fn discovery_documents_tell_what_is_supported() {
    let env = Env::new();
    let key = env.tenant("demo");
    let t = enable(&env, "demo", &key);
    let spc = scim(&env, "GET", "/t/demo/scim/v2/ServiceProviderConfig", &t, None);
    assert_eq!(spc.header("content-type"), "application/scim+json");
    let spc = spc.json();
    assert_eq!((spc["patch"]["supported"].as_bool(), spc["bulk"]["supported"].as_bool()), (Some(true), Some(false)));
    assert_eq!((spc["etag"]["supported"].as_bool(), spc["sort"]["supported"].as_bool()), (Some(true), Some(true)));
    let types = scim(&env, "GET", "/t/demo/scim/v2/ResourceTypes", &t, None).json();
    assert_eq!(types["totalResults"], 2);
    let user = scim(&env, "GET", "/t/demo/scim/v2/ResourceTypes/User", &t, None).json();
    assert_eq!(user["schemaExtensions"][0]["schema"], ENTERPRISE);
    let schemas = scim(&env, "GET", "/t/demo/scim/v2/Schemas", &t, None).json();
    let ids: Vec<&str> = schemas["Resources"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [USER, ENTERPRISE, "urn:ietf:params:scim:schemas:core:2.0:Group"]);
    let one = scim(&env, "GET", &format!("/t/demo/scim/v2/Schemas/{ENTERPRISE}"), &t, None);
    assert_eq!(one.json()["name"], "EnterpriseUser", "{}", one.body);
    assert_scim_error(&scim(&env, "GET", "/t/demo/scim/v2/Schemas/urn:nope", &t, None), 404, None);
    // Discovery is read-only, and bulk is not offered.
    let r = scim(&env, "POST", "/t/demo/scim/v2/Schemas", &t, Some(json!({})));
    assert_scim_error(&r, 405, None);
    let r = scim(&env, "POST", "/t/demo/scim/v2/Bulk", &t, Some(json!({})));
    assert_scim_error(&r, 501, None);
}

#[test]
fn a_user_name_lookup_uses_an_index_not_a_scan() {
    let env = Env::new();
    let conn = env.host.db.conn();
    let plan: Vec<String> = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {}", tessera_core::scim::users::BY_USER_NAME))
        .unwrap()
        .query_map(rusqlite::params!["ten_x", "ana@x.io"], |r| r.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let text = plan.join("\n");
    assert!(!text.contains("SCAN"), "{text}");
    assert!(text.contains("sqlite_autoindex_scim_users"), "{text}");
    assert!(text.contains("sqlite_autoindex_users"), "{text}");
}

/// The text of the element with this id in a page.
fn element(page: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = page.find(&marker).unwrap_or_else(|| panic!("no #{id} in {page}")) + marker.len();
    let end = page[start..].find('<').unwrap() + start;
    page[start..end].to_string()
}

#[test]
fn the_admin_ui_switches_scim_on_and_manages_its_tokens() {
    let env = Env::new();
    let key = env.tenant("demo");
    let r = env.api(
        "POST",
        "/t/demo/api/v1/users",
        &key,
        Some(json!({ "email": "root@example.com", "password": "correct horse battery", "is_admin": true, "email_verified": true })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let mut b = Browser::default();
    assert_eq!(env.login(&mut b, "demo", "root@example.com", "correct horse battery").status, 303);
    let page = env.get(&mut b, "/t/demo/admin/scim");
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(element(&page.body, "scim-base-url"), "http://127.0.0.1:8787/t/demo/scim/v2");
    assert!(page.body.contains("id=\"no-tokens\""));

    // Switched on, deleting users on deprovisioning, names from name.
    let r = env.submit(
        &mut b,
        "/t/demo/admin/scim",
        "/t/demo/admin/scim",
        &[("enabled", "on"), ("deprovision", "delete"), ("email_from", "userName"), ("name_from", "name")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let c = env.api("GET", "/t/demo/api/v1/scim", &key, None).json();
    assert_eq!((c["enabled"].as_bool(), c["groups_enabled"].as_bool()), (Some(true), Some(false)), "{c}");
    assert_eq!(c["deprovision"], "delete");
    assert_eq!(c["attribute_map"], json!({ "email": "userName", "name": "name" }));
    let r =
        env.submit(&mut b, "/t/demo/admin/scim", "/t/demo/admin/scim", &[("enabled", "on"), ("deprovision", "nuke")]);
    assert_eq!(r.status, 400, "{}", r.body);

    // A token, shown once, works; the page lists it without its secret.
    let r = env.submit(
        &mut b,
        "/t/demo/admin/scim",
        "/t/demo/admin/scim/tokens",
        &[("name", "Entra ID"), ("lifetime_days", "30")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let first = element(&r.body, "scim-token");
    assert_eq!(scim(&env, "GET", "/t/demo/scim/v2/Users", &first, None).status, 200);
    let page = env.get(&mut b, "/t/demo/admin/scim");
    assert!(page.body.contains("Entra ID") && !page.body.contains(&first), "{}", page.body);
    let bad = env.submit(
        &mut b,
        "/t/demo/admin/scim",
        "/t/demo/admin/scim/tokens",
        &[("name", "x"), ("lifetime_days", "9999")],
    );
    assert_eq!(bad.status, 400, "{}", bad.body);

    // Rotated: both work for the overlap day; revoked: the new one stops.
    let id = env.api("GET", "/t/demo/api/v1/scim/tokens", &key, None).json()["tokens"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = env.submit(&mut b, "/t/demo/admin/scim", &format!("/t/demo/admin/scim/tokens/{id}/rotate"), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    let second = element(&r.body, "scim-token");
    assert_eq!(scim(&env, "GET", "/t/demo/scim/v2/Users", &first, None).status, 200);
    assert_eq!(scim(&env, "GET", "/t/demo/scim/v2/Users", &second, None).status, 200);
    let new_id = env.api("GET", "/t/demo/api/v1/scim/tokens", &key, None).json()["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] != id.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = env.submit(&mut b, "/t/demo/admin/scim", &format!("/t/demo/admin/scim/tokens/{new_id}/revoke"), &[]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(scim(&env, "GET", "/t/demo/scim/v2/Users", &second, None).status, 401);
    // Another tenant's token id is not found through this admin UI.
    let b_key = env.tenant("other");
    let other = env.api("POST", "/t/other/api/v1/scim/tokens", &b_key, Some(json!({ "name": "b" }))).json();
    let r = env.submit(
        &mut b,
        "/t/demo/admin/scim",
        &format!("/t/demo/admin/scim/tokens/{}/revoke", other["id"].as_str().unwrap()),
        &[],
    );
    assert_eq!(r.status, 404, "{}", r.body);
}
