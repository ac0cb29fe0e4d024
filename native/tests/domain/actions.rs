//! Actions at the edge over the real core and SQLite: the management API
//! (drafts, versions, rollback, secrets, bindings), and what the flows do
//! with the actions host's answers. The host here is scripted (the recording
//! outbound answers every call with one body); the real host and its sandbox
//! are tested in `actions-host/tests` and end to end in `tests/e2e`.

use super::native_host_support::*;
use super::oauth::{pkce, query_of, setup, verify_jwt, Setup, API, CB};
use tessera_core::actions::signature;

const ACTIONS_SECRET: &str = "an actions secret shared with the host, long enough";
const JS: &str = "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('x', 1); };";

fn with_host(s: &Setup) {
    s.env.host.set_var("ACTIONS_URL", "http://actions.internal:8788");
    s.env.host.set_secret("ACTIONS_SECRET", ACTIONS_SECRET);
    s.env.host.outbound.status.set(200);
}

/// The scripted host answers every run with these results.
fn answer(s: &Setup, results: Value) {
    *s.env.host.outbound.body.borrow_mut() = json!({ "results": results }).to_string().into_bytes();
}

/// The scripted host answers that version 1 of `id` decided `decisions`.
fn decide(s: &Setup, id: &str, decisions: Value) {
    answer(s, json!([{ "action_id": id, "version": 1, "duration_us": 5, "decisions": decisions }]));
}

fn create(s: &Setup, name: &str, trigger: &str, code: &str) -> String {
    let r = s.env.api(
        "POST",
        "/t/demo/api/v1/actions",
        &s.key,
        Some(json!({ "name": name, "trigger": trigger, "code": code, "secrets": { "API_KEY": "s3cret-value-42" } })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["id"].as_str().unwrap().to_string()
}

fn deploy_and_bind(s: &Setup, id: &str, trigger: &str, mode: &str) {
    let r = s.env.api("POST", &format!("/t/demo/api/v1/actions/{id}/deploy"), &s.key, None);
    assert_eq!(r.status, 201, "{}", r.body);
    let r = s.env.api(
        "PUT",
        &format!("/t/demo/api/v1/triggers/{trigger}"),
        &s.key,
        Some(json!({ "failure_mode": mode, "bindings": [{ "action_id": id }] })),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

fn count(s: &Setup, sql: &str) -> i64 {
    s.env.host.db.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// The last run request the edge sent, after checking its signature.
fn last_run_request(s: &Setup) -> Value {
    let sent = s.env.host.outbound.sent.borrow();
    let req = sent.last().expect("a call to the actions host");
    assert_eq!(req.uri().to_string(), "http://actions.internal:8788/v1/run");
    let header = req.headers().get(signature::HEADER).unwrap().to_str().unwrap();
    signature::verify(ACTIONS_SECRET.as_bytes(), Some(header), req.body(), T0 / 1000).expect("signed with the secret");
    serde_json::from_slice(req.body()).unwrap()
}

/// Signs `email` up through the hosted page.
fn sign_up(s: &Setup, b: &mut Browser, email: &str) -> Resp {
    let page = s.env.get(b, "/t/demo/signup");
    s.env.post_form(
        b,
        "/t/demo/signup",
        &[
            ("csrf_token", &page.hidden("csrf_token")),
            ("email", email),
            ("name", "New"),
            ("password", "correct horse battery"),
        ],
    )
}

fn sign_in_and_authorize(s: &Setup, b: &mut Browser) -> (u16, String) {
    if !b.cookies.contains_key("tessera_session") {
        assert_eq!(s.env.login(b, "demo", "ana@example.com", "correct horse battery").status, 303);
    }
    let (_, challenge) = pkce();
    let url = s.authorize_url(&[("code_challenge", &challenge), ("code_challenge_method", "S256")]);
    let mut r = s.env.get(b, &url);
    if r.status == 200 {
        // The client is third-party: consent first (post-login runs after it).
        let (token, request) = (r.hidden("csrf_token"), r.hidden("request"));
        r = s.env.post_form(
            b,
            "/t/demo/consent",
            &[("csrf_token", &token), ("request", &request), ("decision", "allow")],
        );
    }
    (r.status, r.header("location").to_string())
}

#[test]
fn drafts_deploy_as_numbered_versions_that_roll_back_and_secrets_stay_write_only() {
    let s = setup();
    let id = create(&s, "tag", "post-login", JS);
    let a = s.env.api("GET", &format!("/t/demo/api/v1/actions/{id}"), &s.key, None);
    assert_eq!(a.json()["secrets"], json!(["API_KEY"]));
    assert_eq!(a.json()["deployed_version"], Value::Null);
    assert!(!a.body.contains("s3cret-value-42"));
    let sealed: String = s.env.host.db.conn().query_row("SELECT sealed FROM action_secrets", [], |r| r.get(0)).unwrap();
    assert!(!sealed.contains("s3cret") && sealed.starts_with("v1."), "{sealed}");

    // Binding needs a deployed version.
    let bind = |id: &str| {
        s.env.api(
            "PUT",
            "/t/demo/api/v1/triggers/post-login",
            &s.key,
            Some(json!({ "bindings": [{ "action_id": id }] })),
        )
    };
    assert_eq!(bind(&id).status, 400);
    let v1 = s.env.api("POST", &format!("/t/demo/api/v1/actions/{id}/deploy"), &s.key, None).json();
    assert_eq!(v1["number"], 1);
    assert_eq!(bind(&id).status, 200);
    let changed = s.env.api(
        "PATCH",
        &format!("/t/demo/api/v1/actions/{id}"),
        &s.key,
        Some(json!({ "code": JS.replace("'x', 1", "'x', 2"), "secrets": { "API_KEY": null, "OTHER": "v" } })),
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.json()["draft_changed"], true);
    assert_eq!(changed.json()["secrets"], json!(["OTHER"]));
    assert_eq!(s.env.api("POST", &format!("/t/demo/api/v1/actions/{id}/deploy"), &s.key, None).json()["number"], 2);
    let versions = s.env.api("GET", &format!("/t/demo/api/v1/actions/{id}/versions"), &s.key, None).json();
    assert_eq!(versions["versions"][0]["number"], 2);
    assert_eq!(versions["versions"][0]["deployed"], true);
    assert_eq!(versions["versions"][1]["deployed"], false);
    let trigger = s.env.api("GET", "/t/demo/api/v1/triggers/post-login", &s.key, None).json();
    assert_eq!(trigger["bindings"][0]["version"], 2);
    // Rollback points the binding at v1; an unknown version is 404.
    let r = s.env.api("POST", &format!("/t/demo/api/v1/actions/{id}/versions/1/deploy"), &s.key, None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        s.env.api("GET", "/t/demo/api/v1/triggers/post-login", &s.key, None).json()["bindings"][0]["version"],
        1
    );
    assert_eq!(s.env.api("POST", &format!("/t/demo/api/v1/actions/{id}/versions/9/deploy"), &s.key, None).status, 404);
    assert_eq!(s.env.api("POST", &format!("/t/demo/api/v1/actions/{id}/versions/x/deploy"), &s.key, None).status, 404);

    // An action of another trigger cannot be bound here; a name is unique.
    let cc = create(&s, "cc", "credentials-exchange", "exports.onExecuteCredentialsExchange = async () => {};");
    s.env.api("POST", &format!("/t/demo/api/v1/actions/{cc}/deploy"), &s.key, None);
    assert_eq!(bind(&cc).status, 400);
    let dup = s.env.api(
        "POST",
        "/t/demo/api/v1/actions",
        &s.key,
        Some(json!({ "name": "tag", "trigger": "post-login", "code": JS })),
    );
    assert_eq!(dup.status, 409, "{}", dup.body);

    // Deleting the action removes its bindings, versions and secrets.
    assert_eq!(s.env.api("DELETE", &format!("/t/demo/api/v1/actions/{id}"), &s.key, None).status, 204);
    assert_eq!(s.env.api("GET", "/t/demo/api/v1/triggers/post-login", &s.key, None).json()["bindings"], json!([]));
    assert_eq!(count(&s, &format!("SELECT COUNT(*) FROM action_versions WHERE action_id = '{id}'")), 0);
    assert_eq!(count(&s, &format!("SELECT COUNT(*) FROM action_secrets WHERE action_id = '{id}'")), 0);
    assert_eq!(s.env.api("GET", &format!("/t/demo/api/v1/actions/{id}"), &s.key, None).status, 404);
}

#[test]
fn bad_action_input_gets_clear_errors_and_large_code_fits_only_the_actions_routes() {
    let s = setup();
    let post = |body: Value| s.env.api("POST", "/t/demo/api/v1/actions", &s.key, Some(body));
    for (body, why) in [
        (json!({ "name": "a", "trigger": "on-lunch", "code": JS }), "unknown trigger"),
        (json!({ "name": "", "trigger": "post-login", "code": JS }), "empty name"),
        (json!({ "name": "a", "trigger": "post-login", "code": " " }), "empty code"),
        (json!({ "name": "a", "trigger": "post-login", "runtime": "wasm", "code": "AGFzbQEAAAA=" }), "a core module"),
        (json!({ "name": "a", "trigger": "post-login", "code": JS, "secrets": { "1BAD": "v" } }), "secret name"),
        (json!({ "name": "a", "trigger": "post-login", "code": "x".repeat(101 * 1024) }), "code too large"),
    ] {
        let r = post(body);
        assert_eq!(r.status, 400, "{why}: {}", r.body);
        assert_eq!(r.header("content-type"), "application/problem+json", "{why}");
    }
    // 90 KB of source is fine here, and would be refused on another route.
    let big = format!("{JS}\n//{}", "x".repeat(90 * 1024));
    assert_eq!(post(json!({ "name": "big", "trigger": "post-login", "code": big })).status, 201);
    let r = s.env.api("POST", "/t/demo/api/v1/users", &s.key, Some(json!({ "email": "big@example.com", "name": big })));
    assert_eq!(r.status, 413);
    assert_eq!(s.env.api("PUT", "/t/demo/api/v1/triggers/nope", &s.key, Some(json!({}))).status, 404);
}

#[test]
fn post_login_claims_reach_the_id_and_access_tokens_and_survive_refresh() {
    let s = setup();
    with_host(&s);
    let id = create(&s, "roles", "post-login", JS);
    deploy_and_bind(&s, &id, "post-login", "closed");
    answer(
        &s,
        json!([{ "action_id": id, "version": 1, "duration_us": 800, "logs": [{ "level": "log", "message": "hi" }], "decisions": [
            { "type": "set_claim", "token": "id_token", "name": "https://example.com/roles", "value": ["admin"] },
            { "type": "set_claim", "token": "access_token", "name": "https://example.com/plan", "value": "pro" },
            // Tessera's own claims are never replaced.
            { "type": "set_claim", "token": "id_token", "name": "email", "value": "evil@example.com" },
            { "type": "set_metadata", "kind": "app", "name": "seen", "value": true }
        ]}]),
    );
    let mut b = Browser::default();
    let (verifier, challenge) = pkce();
    let q = s.code(&mut b, &challenge);
    let sent = last_run_request(&s);
    assert_eq!(sent["trigger"], "post-login");
    assert_eq!(sent["event"]["user"]["email"], "ana@example.com");
    assert_eq!(sent["event"]["client"]["client_id"], s.client_id.as_str());
    assert_eq!(sent["actions"][0]["secrets"]["API_KEY"], "s3cret-value-42");
    // By hash: the host has its bytecode, or asks for the source.
    assert_eq!(sent["actions"][0]["hash"], tessera_core::crypto::hex(&tessera_core::crypto::sha256(JS.as_bytes())));
    assert!(sent["actions"][0].get("code").is_none(), "{sent}");

    let t = s.exchange(&q["code"], &verifier).json();
    let id_token = verify_jwt(&s.env, t["id_token"].as_str().unwrap());
    assert_eq!(id_token["https://example.com/roles"], json!(["admin"]));
    assert_eq!(id_token["email"], "ana@example.com");
    let at = verify_jwt(&s.env, t["access_token"].as_str().unwrap());
    assert_eq!(at["https://example.com/plan"], "pro");
    let r = s.token(&[("grant_type", "refresh_token"), ("refresh_token", t["refresh_token"].as_str().unwrap())]);
    assert_eq!(verify_jwt(&s.env, r.json()["access_token"].as_str().unwrap())["https://example.com/plan"], "pro");

    let user = s.env.api("GET", &format!("/t/demo/api/v1/users/{}", s.user_id), &s.key, None).json();
    assert_eq!(user["app_metadata"]["seen"], true);
    let runs = s.env.api("GET", &format!("/t/demo/api/v1/actions/{id}/executions"), &s.key, None).json();
    assert_eq!(runs["executions"][0]["outcome"], "success");
    assert_eq!(runs["executions"][0]["logs"][0]["message"], "hi");
    let logs = s.env.api("GET", "/t/demo/api/v1/logs?type=action_execution", &s.key, None).json();
    assert_eq!(logs["logs"][0]["details"]["action_id"], id.as_str());
    assert_eq!(logs["logs"][0]["details"]["version"], 1);
}

#[test]
fn a_script_goes_by_hash_and_its_source_only_to_a_host_that_asks_for_it() {
    let s = setup();
    with_host(&s);
    let id = create(&s, "roles", "post-login", JS);
    deploy_and_bind(&s, &id, "post-login", "open");
    let unknown = json!({ "kind": "unknown_module", "message": "not compiled here; send its code" });
    answer(&s, json!([{ "action_id": id, "version": 1, "duration_us": 0, "decisions": [], "error": unknown }]));
    let mut b = Browser::default();
    let (_, challenge) = pkce();
    // The scripted host asks again too: the flow fails open and goes on.
    s.code(&mut b, &challenge);
    let sent = s.env.host.outbound.sent.borrow();
    let runs: Vec<Value> = sent
        .iter()
        .filter(|r| r.uri().path() == "/v1/run")
        .map(|r| serde_json::from_slice(r.body()).unwrap())
        .collect();
    assert_eq!(runs.len(), 2, "one by hash, one with the source");
    assert!(runs[0]["actions"][0].get("code").is_none());
    assert_eq!(runs[1]["actions"][0]["code"], JS);
    assert_eq!(runs[0]["actions"][0]["hash"], runs[1]["actions"][0]["hash"]);
    assert_ne!(runs[0]["id"], runs[1]["id"], "a new request id, or the host refuses it as a replay");
}

#[test]
fn a_post_login_deny_goes_back_to_the_client_as_access_denied_with_no_code() {
    let s = setup();
    with_host(&s);
    let id = create(&s, "gate", "post-login", JS);
    deploy_and_bind(&s, &id, "post-login", "open");
    decide(&s, &id, json!([{ "type": "deny", "reason": "not today" }]));
    let mut b = Browser::default();
    let (status, location) = sign_in_and_authorize(&s, &mut b);
    assert_eq!(status, 303);
    let q = query_of(&location);
    assert!(location.starts_with(CB), "{location}");
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["error_description"], "not today");
    assert_eq!(q["state"], "st-1");
    assert!(!q.contains_key("code"));
    assert_eq!(count(&s, "SELECT COUNT(*) FROM oauth_codes"), 0);
}

#[test]
fn a_failed_run_or_an_unreachable_host_follows_the_triggers_failure_mode() {
    let s = setup();
    with_host(&s);
    let id = create(&s, "flaky", "post-login", JS);
    deploy_and_bind(&s, &id, "post-login", "open");
    // A reserved claim fails the run: under `open` the login goes on without it.
    decide(&s, &id, json!([{ "type": "set_claim", "token": "id_token", "name": "sub", "value": "someone-else" }]));
    let mut b = Browser::default();
    let (_, location) = sign_in_and_authorize(&s, &mut b);
    assert!(query_of(&location).contains_key("code"), "{location}");
    let runs = s.env.api("GET", &format!("/t/demo/api/v1/actions/{id}/executions"), &s.key, None).json();
    assert_eq!(runs["executions"][0]["outcome"], "failed");
    assert!(runs["executions"][0]["error"].as_str().unwrap().contains("reserved"));

    // The host answers 503: under `open` the login goes on, under `closed` not.
    s.env.host.outbound.status.set(503);
    let (_, location) = sign_in_and_authorize(&s, &mut b);
    assert!(query_of(&location).contains_key("code"), "{location}");
    let r = s.env.api("PUT", "/t/demo/api/v1/triggers/post-login", &s.key, Some(json!({ "failure_mode": "closed" })));
    assert_eq!(r.json()["failure_mode"], "closed");
    let (_, location) = sign_in_and_authorize(&s, &mut b);
    let q = query_of(&location);
    assert_eq!(q["error"], "server_error", "{location}");
    assert!(!q.contains_key("code"));
    // Both failures are audited, each with the trigger's failure mode.
    let logs = s.env.api("GET", "/t/demo/api/v1/logs?type=action_execution_failed", &s.key, None).json();
    let modes: Vec<&str> =
        logs["logs"].as_array().unwrap().iter().map(|l| l["details"]["failure_mode"].as_str().unwrap()).collect();
    assert_eq!(modes, ["closed", "open", "open"]);
    assert!(logs["logs"][0]["details"]["error"].as_str().unwrap().contains("503"));
    assert!(!logs.to_string().contains(ACTIONS_SECRET));
}

#[test]
fn credentials_exchange_actions_add_access_token_claims_or_deny_with_their_code() {
    let s = setup();
    with_host(&s);
    let id = create(&s, "cc", "credentials-exchange", "exports.onExecuteCredentialsExchange = async () => {};");
    deploy_and_bind(&s, &id, "credentials-exchange", "open");
    decide(&s, &id, json!([{ "type": "set_claim", "token": "access_token", "name": "tier", "value": "gold" }]));
    let r = s.token(&[("grant_type", "client_credentials"), ("audience", API)]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(verify_jwt(&s.env, r.json()["access_token"].as_str().unwrap())["tier"], "gold");
    assert_eq!(last_run_request(&s)["event"]["resource_server"]["identifier"], API);

    decide(&s, &id, json!([{ "type": "deny", "code": "invalid_scope", "reason": "no such plan" }]));
    let r = s.token(&[("grant_type", "client_credentials"), ("audience", API)]);
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["error"], "invalid_scope");
    assert_eq!(r.json()["error_description"], "no such plan");

    // Execution records age out with maintenance after 30 days.
    let runs = || s.env.api("GET", &format!("/t/demo/api/v1/actions/{id}/executions"), &s.key, None).json();
    assert_eq!(runs()["executions"].as_array().unwrap().len(), 2);
    s.env.host.clock.set_fixed(T0 + 29 * 86_400_000);
    assert_eq!(s.env.platform("POST", "/api/v1/internal/maintenance", None).status, 200);
    assert_eq!(runs()["executions"].as_array().unwrap().len(), 2);
    s.env.host.clock.set_fixed(T0 + 31 * 86_400_000);
    assert_eq!(s.env.platform("POST", "/api/v1/internal/maintenance", None).status, 200);
    assert_eq!(runs()["executions"], json!([]));
}

#[test]
fn pre_login_and_pre_registration_denies_stop_before_anything_is_written() {
    let s = setup();
    with_host(&s);
    let pre_login = create(&s, "geo", "pre-login", "exports.onExecutePreLogin = async () => {};");
    deploy_and_bind(&s, &pre_login, "pre-login", "open");
    decide(&s, &pre_login, json!([{ "type": "deny", "reason": "country", "user_message": "Not from there." }]));
    let mut b = Browser::default();
    let r = s.env.login(&mut b, "demo", "ana@example.com", "correct horse battery");
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("Not from there."));
    assert!(!b.cookies.contains_key("tessera_session"));
    assert_eq!(last_run_request(&s)["event"]["user"]["email"], "ana@example.com");

    let pre_reg =
        create(&s, "invite-only", "pre-user-registration", "exports.onExecutePreUserRegistration = async () => {};");
    deploy_and_bind(&s, &pre_reg, "pre-user-registration", "open");
    decide(
        &s,
        &pre_reg,
        json!([{ "type": "deny", "reason": "invite only", "user_message": "Sign-up is by invitation." }]),
    );
    let users_before = count(&s, "SELECT COUNT(*) FROM users");
    let r = sign_up(&s, &mut b, "new@example.com");
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("Sign-up is by invitation."));
    assert_eq!(count(&s, "SELECT COUNT(*) FROM users"), users_before);

    // Metadata a pre-registration action sets is in the new row.
    decide(&s, &pre_reg, json!([{ "type": "set_metadata", "kind": "app", "name": "plan", "value": "trial" }]));
    let r = sign_up(&s, &mut b, "new@example.com");
    assert!(r.status < 400, "{}", r.body);
    let users = s.env.api("GET", "/t/demo/api/v1/users?email=new@example.com", &s.key, None).json();
    assert_eq!(users["users"][0]["app_metadata"]["plan"], "trial");
}

#[test]
fn api_multifactor_enable_sends_a_password_only_sign_in_to_a_second_factor() {
    let s = setup();
    with_host(&s);
    let id = create(&s, "mfa", "post-login", JS);
    deploy_and_bind(&s, &id, "post-login", "open");
    decide(&s, &id, json!([{ "type": "require_mfa", "provider": "any" }]));
    let mut b = Browser::default();
    let (status, location) = sign_in_and_authorize(&s, &mut b);
    assert_eq!(status, 303);
    // No factor yet: enrolment, then back to this authorization request.
    assert!(location.starts_with("/t/demo/mfa/enroll?return_to=%2Ft%2Fdemo%2Fauthorize%3F"), "{location}");
    assert_eq!(count(&s, "SELECT COUNT(*) FROM oauth_codes"), 0);
    // prompt=none cannot show a page: interaction_required at the client.
    let (_, challenge) = pkce();
    let url = s.authorize_url(&[("code_challenge", &challenge), ("code_challenge_method", "S256"), ("prompt", "none")]);
    let r = s.env.get(&mut b, &url);
    assert_eq!(query_of(r.header("location"))["error"], "interaction_required", "{}", r.header("location"));
}

#[test]
fn outside_dev_mode_the_actions_host_is_reached_over_https_or_loopback_only() {
    let s = setup();
    with_host(&s);
    let id = create(&s, "tag", "credentials-exchange", "exports.onExecuteCredentialsExchange = async () => {};");
    deploy_and_bind(&s, &id, "credentials-exchange", "closed");
    decide(&s, &id, json!([]));
    // A production configuration.
    s.env.host.set_var("DEV_MODE", "");
    s.env.host.set_var("PUBLIC_URL", "http://127.0.0.1:8787");
    s.env.host.set_var("EMAIL_FROM", "login@example.com");
    s.env.host.set_var("EMAIL_API_URL", "https://mail.example.com/send");
    s.env.host.set_secret("EMAIL_API_KEY", "re_test");
    let sent_before = s.env.host.outbound.sent.borrow().len();
    let r = s.token(&[("grant_type", "client_credentials"), ("audience", API)]);
    assert_eq!(r.json()["error"], "server_error", "{}", r.body);
    // Nothing left the edge over plain HTTP.
    assert_eq!(s.env.host.outbound.sent.borrow().len(), sent_before);
    let runs = s.env.api("GET", &format!("/t/demo/api/v1/actions/{id}/executions"), &s.key, None).json();
    assert!(runs["executions"][0]["error"].as_str().unwrap().contains("https://"), "{runs}");
    // Loopback (a host on the same machine) and https are fine.
    for url in ["http://127.0.0.1:8788", "https://actions.internal:8788"] {
        s.env.host.set_var("ACTIONS_URL", url);
        let r = s.token(&[("grant_type", "client_credentials"), ("audience", API)]);
        assert_eq!(r.status, 200, "{url}: {}", r.body);
    }
}

/// Calls the edge made to the actions host so far.
fn runs(s: &Setup) -> usize {
    s.env
        .host
        .outbound
        .sent
        .borrow()
        .iter()
        .filter(|r| r.uri().to_string().starts_with("http://actions.internal"))
        .count()
}

#[test]
fn post_user_registration_runs_from_the_signup_event_once_and_only_observes() {
    use tessera_core::logs::delivery;
    use tessera_core::usecases::actions::{after_events, AfterEvents};
    use tessera_native::HostView;

    let s = setup();
    with_host(&s);
    let id = create(&s, "welcome", "post-user-registration", "exports.onExecutePostUserRegistration = async () => {};");
    deploy_and_bind(&s, &id, "post-user-registration", "closed");
    // Whatever the host answers, the signup never waits for it: the page is
    // done before any run (the scripted host would refuse it).
    s.env.host.outbound.status.set(500);
    let runs_before = runs(&s);
    assert_eq!(sign_up(&s, &mut Browser::default(), "new@example.com").status, 200);
    assert_eq!(runs(&s), runs_before, "nothing ran during the signup");
    s.env.host.outbound.status.set(200);

    let view = HostView::new(&s.env.host);
    let events = pollster::block_on(delivery::drain_outbox(&view, 1000)).unwrap();
    decide(&s, &id, json!([]));
    let done = pollster::block_on(after_events(&view, &events)).unwrap();
    assert_eq!(done, AfterEvents { ran: 1, duplicates: 0 });
    let req = last_run_request(&s);
    assert_eq!(req["trigger"], "post-user-registration");
    assert_eq!(req["event"]["user"]["email"], "new@example.com");
    assert!(req["event"]["user"]["user_id"].as_str().unwrap().starts_with("usr_"));
    assert_eq!(req["event"]["connection"]["strategy"], "auth0");
    assert_eq!(count(&s, "SELECT COUNT(*) FROM action_executions WHERE outcome = 'success'"), 1);

    // A redelivered event (queues and the outbox are at least once) does not
    // run it again.
    let sent = runs(&s);
    let again = pollster::block_on(after_events(&view, &events)).unwrap();
    assert_eq!(again, AfterEvents { ran: 0, duplicates: 1 });
    assert_eq!(runs(&s), sent);

    // This trigger only observes: a decision is refused and the run recorded
    // as failed; the user is untouched.
    assert_eq!(sign_up(&s, &mut Browser::default(), "second@example.com").status, 200);
    let events = pollster::block_on(delivery::drain_outbox(&view, 1000)).unwrap();
    decide(&s, &id, json!([{ "type": "set_metadata", "kind": "app", "name": "plan", "value": "x" }]));
    assert_eq!(pollster::block_on(after_events(&view, &events)).unwrap().ran, 1);
    let failed: String = s
        .env
        .host
        .db
        .conn()
        .query_row("SELECT error FROM action_executions WHERE outcome = 'failed'", [], |r| r.get(0))
        .unwrap();
    assert!(failed.contains("set_metadata"), "{failed}");
    let users = s.env.api("GET", "/t/demo/api/v1/users?email=second@example.com", &s.key, None).json();
    assert_eq!(users["users"][0]["app_metadata"], json!({}));

    // A user deleted before the event was taken is skipped; so is a failed
    // signup (the address is taken), and any other event.
    assert_eq!(sign_up(&s, &mut Browser::default(), "gone@example.com").status, 200);
    assert_eq!(sign_up(&s, &mut Browser::default(), "new@example.com").status, 200);
    let gone = s.env.api("GET", "/t/demo/api/v1/users?email=gone@example.com", &s.key, None).json();
    let gone_id = gone["users"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(s.env.api("DELETE", &format!("/t/demo/api/v1/users/{gone_id}"), &s.key, None).status, 204);
    let sent = runs(&s);
    let events = pollster::block_on(delivery::drain_outbox(&view, 1000)).unwrap();
    assert!(events.len() >= 3);
    assert_eq!(pollster::block_on(after_events(&view, &events)).unwrap(), AfterEvents::default());
    assert_eq!(runs(&s), sent);

    // The claims go with the execution records, after 30 days.
    assert_eq!(count(&s, "SELECT COUNT(*) FROM action_dispatches"), 2);
    s.env.host.clock.set_fixed(T0 + 31 * 86_400_000);
    assert_eq!(s.env.platform("POST", "/api/v1/internal/maintenance", None).status, 200);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM action_dispatches"), 0);
}
