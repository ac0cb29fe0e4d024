//! Log streaming over the real core and SQLite: fan-out by filter and
//! tenant, the Auth0-shaped record, sink formats, retries with backoff, dead
//! letters, suspension, leases, and secrets that never come back out. The
//! sinks are the recording outbound; the clock is pinned and moved by hand.

use super::native_host_support::*;
use super::oauth::{setup, Setup, API};
use tessera_core::logs::delivery::{self, Report, BACKOFF_CAP_MS, LEASE_MS, MAX_ATTEMPTS};
use tessera_native::HostView;

const HEC_TOKEN: &str = "hec-token-0123456789-SECRET";

fn create(s: &Setup, slug: &str, key: &str, spec: Value) -> Value {
    let r = s.env.api("POST", &format!("/t/{slug}/api/v1/log-streams"), key, Some(spec));
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()
}

fn stream(s: &Setup, id: &str) -> Value {
    let r = s.env.api("GET", &format!("/t/demo/api/v1/log-streams/{id}"), &s.key, None);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// One round of the delivery worker: take the outbox, deliver what is due.
fn round(env: &Env, owner: &str) -> Report {
    let view = HostView::new(&env.host);
    pollster::block_on(delivery::drain_outbox(&view, 1000)).unwrap();
    pollster::block_on(delivery::deliver_due(&view, owner)).unwrap()
}

/// What was sent to URLs starting with `prefix`, as JSON arrays of events.
fn sent_to(env: &Env, prefix: &str) -> Vec<(http::HeaderMap, Vec<u8>)> {
    env.host
        .outbound
        .sent
        .borrow()
        .iter()
        .filter(|r| r.uri().to_string().starts_with(prefix))
        .map(|r| (r.headers().clone(), r.body().clone()))
        .collect()
}

fn events_in(body: &[u8]) -> Vec<Value> {
    serde_json::from_slice::<Vec<Value>>(body).unwrap()
}

fn failed_token(s: &Setup) {
    let r = s.token_as(&s.client_id, "wrong-secret", &[("grant_type", "client_credentials"), ("audience", API)]);
    assert_eq!(r.status, 401);
}

fn good_token(s: &Setup) {
    let r = s.token(&[("grant_type", "client_credentials"), ("audience", API)]);
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn events_reach_the_streams_whose_filters_take_them_in_auth0_shape() {
    let s = setup();
    let all = create(
        &s,
        "demo",
        &s.key,
        json!({ "name": "all", "type": "http", "sink": { "url": "http://all.test/in", "authorization": "Bearer sink-0123456789abcdef" } }),
    );
    let fails = create(
        &s,
        "demo",
        &s.key,
        json!({ "name": "fails", "type": "webhook", "sink": { "url": "http://fails.test/hook" },
                "filters": { "categories": ["auth.token_exchange.fail"] } }),
    );
    let secret = fails["sink"]["secret"].as_str().expect("a generated secret, shown once").to_string();
    assert!(secret.starts_with("whsec_"));
    assert_ne!(stream(&s, fails["id"].as_str().unwrap())["sink"]["secret"], secret.as_str());
    good_token(&s);
    failed_token(&s);
    let report = round(&s.env, "w1");
    assert_eq!(report.failed, 0);

    let to_all = sent_to(&s.env, "http://all.test/in");
    assert_eq!(to_all.len(), 1);
    assert_eq!(to_all[0].0["authorization"], "Bearer sink-0123456789abcdef");
    let events = events_in(&to_all[0].1);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(types.contains(&"seccft") && types.contains(&"feacft") && types.contains(&"sapi"), "{types:?}");
    let ok = events.iter().find(|e| e["type"] == "seccft").unwrap();
    // Auth0's field names, with the client the token went to.
    assert_eq!(ok["client_id"], s.client_id.as_str());
    assert_eq!(ok["client_name"], "Web App");
    assert_eq!(ok["category"], "auth.token_exchange.success");
    assert_eq!(ok["ip"], "10.0.0.2");
    assert_eq!(ok["hostname"], "127.0.0.1");
    assert!(ok["log_id"].as_str().unwrap().starts_with("evt_"));
    assert!(ok["date"].as_str().unwrap().ends_with('Z'), "ISO 8601: {}", ok["date"]);
    let failed = events.iter().find(|e| e["type"] == "feacft").unwrap();
    assert_eq!(failed["client_id"], s.client_id.as_str(), "the attempted client is named");
    assert_eq!(failed["severity"], "warning");

    // The filtered webhook got the failure alone, signed over time and body.
    let hooks = sent_to(&s.env, "http://fails.test/hook");
    assert_eq!(hooks.len(), 1);
    let evs = events_in(&hooks[0].1);
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0]["type"], "feacft");
    let sig = hooks[0].0["tessera-signature"].to_str().unwrap().to_string();
    let t: i64 = sig.split(',').next().unwrap().strip_prefix("t=").unwrap().parse().unwrap();
    assert_eq!(t, T0 / 1000);
    assert_eq!(sig, tessera_core::logs::sinks::signature_header(secret.as_bytes(), t, &hooks[0].1));

    // Delivered once: a second round sends nothing more.
    let before = s.env.host.outbound.sent.borrow().len();
    round(&s.env, "w1");
    assert_eq!(s.env.host.outbound.sent.borrow().len(), before);
    let st = stream(&s, all["id"].as_str().unwrap())["status"].clone();
    assert_eq!(st["events_delivered"], events.len());
    assert_eq!(st["events_pending"], 0);
    assert_eq!(st["state"], "active");
}

#[test]
fn another_tenants_events_never_reach_a_stream() {
    let s = setup();
    let other_key = s.env.tenant("other");
    create(&s, "other", &other_key, json!({ "name": "b", "type": "http", "sink": { "url": "http://other.test/in" } }));
    create(&s, "demo", &s.key, json!({ "name": "a", "type": "http", "sink": { "url": "http://demo.test/in" } }));
    good_token(&s);
    failed_token(&s);
    round(&s.env, "w1");
    let other_tenant = s.env.platform("GET", "/api/v1/internal/tenants/other", None).json()["id"].clone();
    let demo_tenant = s.env.platform("GET", "/api/v1/internal/tenants/demo", None).json()["id"].clone();
    for (_, body) in sent_to(&s.env, "http://other.test/") {
        for e in events_in(&body) {
            assert_eq!(e["tenant_id"], other_tenant, "{e}");
        }
    }
    let demo: Vec<Value> = sent_to(&s.env, "http://demo.test/").iter().flat_map(|(_, b)| events_in(b)).collect();
    assert!(demo.iter().any(|e| e["type"] == "seccft"));
    assert!(demo.iter().all(|e| e["tenant_id"] == demo_tenant));
}

#[test]
fn sink_secrets_are_sealed_masked_and_bound_to_their_stream() {
    let s = setup();
    let created = create(
        &s,
        "demo",
        &s.key,
        json!({ "name": "splunk", "type": "splunk", "sink": { "url": "https://hec.example.test:8088", "token": HEC_TOKEN, "index": "auth" } }),
    );
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["sink"]["token"], "****CRET");
    assert_eq!(created["sink"]["index"], "auth");
    for body in [
        created.to_string(),
        s.env.api("GET", "/t/demo/api/v1/log-streams", &s.key, None).body,
        stream(&s, &id).to_string(),
        s.env
            .api("PATCH", &format!("/t/demo/api/v1/log-streams/{id}"), &s.key, Some(json!({ "name": "renamed" })))
            .body,
    ] {
        assert!(!body.contains(HEC_TOKEN) && !body.contains("0123456789-SECRET"), "{body}");
    }
    // At rest: neither the settings nor the sealed column carry the token in
    // any encoding.
    let (plain, sealed): (String, String) = s
        .env
        .host
        .db
        .conn()
        .query_row("SELECT sink, sink_secrets FROM log_streams WHERE id = ?1", [&id], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    use base64::Engine;
    for encoded in [
        HEC_TOKEN.to_string(),
        base64::engine::general_purpose::STANDARD.encode(HEC_TOKEN),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(HEC_TOKEN),
    ] {
        assert!(!plain.contains(&encoded) && !sealed.contains(&encoded));
    }
    // A PATCH that leaves the token out keeps it; the sink still sends it.
    s.env.api(
        "PATCH",
        &format!("/t/demo/api/v1/log-streams/{id}"),
        &s.key,
        Some(json!({ "sink": { "index": "security" } })),
    );
    good_token(&s);
    round(&s.env, "w1");
    let sent = sent_to(&s.env, "https://hec.example.test:8088/services/collector/event");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0["authorization"], format!("Splunk {HEC_TOKEN}").as_str());
    let first: Value = serde_json::from_slice(sent[0].1.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(first["index"], "security");
    assert_eq!(first["sourcetype"], "tessera:log");
    assert!(first["time"].as_f64().unwrap() > 1.0e9);
    assert!(first["event"]["log_id"].as_str().unwrap().starts_with("evt_"));

    // The sealed secrets copied onto another stream do not open there.
    let other = create(
        &s,
        "demo",
        &s.key,
        json!({ "name": "x", "type": "splunk", "sink": { "url": "https://x.example.test", "token": "other-token-abcdefgh" } }),
    );
    let other_id = other["id"].as_str().unwrap();
    s.env
        .host
        .db
        .conn()
        .execute("UPDATE log_streams SET sink_secrets = ?1 WHERE id = ?2", [&sealed, other_id])
        .unwrap();
    failed_token(&s);
    round(&s.env, "w1");
    assert!(sent_to(&s.env, "https://x.example.test").is_empty(), "a moved ciphertext must not decrypt");
    assert!(s.env.host.errors.borrow().iter().any(|e| e.contains(other_id)), "{:?}", s.env.host.errors.borrow());
}

#[test]
fn failures_back_off_then_dead_letter_suspend_and_redeliver() {
    let s = setup();
    let created = create(
        &s,
        "demo",
        &s.key,
        json!({ "name": "flaky", "type": "http", "sink": { "url": "http://flaky.test/in", "authorization": HEC_TOKEN },
                "filters": { "types": ["feacft"] }, "suspend_after_seconds": 600 }),
    );
    let id = created["id"].as_str().unwrap().to_string();
    s.env.host.outbound.status.set(503);
    // The receiver echoes the credential it was sent.
    *s.env.host.outbound.body.borrow_mut() = format!("unavailable; you sent {HEC_TOKEN}").into_bytes();
    failed_token(&s);
    let mut sends = 0;
    let mut last_due = T0;
    for attempt in 1..=MAX_ATTEMPTS {
        let r = round(&s.env, "w1");
        assert_eq!(r.failed, 1, "attempt {attempt}");
        sends += 1;
        let (attempts, due): (i64, i64) = s
            .env
            .host
            .db
            .conn()
            .query_row("SELECT attempts, next_attempt_at FROM log_stream_pending WHERE stream_id = ?1", [&id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap_or((MAX_ATTEMPTS, 0));
        if attempt < MAX_ATTEMPTS {
            assert_eq!(attempts, attempt);
            let now = s.env.host.clock.now_ms_pub();
            assert!(due > now && due <= now + BACKOFF_CAP_MS + 250, "attempt {attempt}: due in {} ms", due - now);
            // Not before it is due, and resuming an active stream does not
            // cut the backoff short.
            if attempt == 1 {
                let r = s.env.api("POST", &format!("/t/demo/api/v1/log-streams/{id}/resume"), &s.key, None);
                assert_eq!(r.json()["status"]["failing_since"], stream(&s, &id)["status"]["failing_since"]);
                assert!(!r.json()["status"]["failing_since"].is_null());
            }
            assert_eq!(round(&s.env, "w1").batches, 0);
            last_due = due;
            s.env.host.clock.set_fixed(due);
        }
    }
    assert!(last_due > T0);
    assert_eq!(sent_to(&s.env, "http://flaky.test/in").len(), sends);
    let st = stream(&s, &id)["status"].clone();
    assert_eq!(st["dead_letters"], 1, "{st}");
    assert_eq!(st["events_pending"], 0);
    assert_eq!(st["state"], "active", "{st}");
    // Errors keep the status and never the secret.
    let err = st["last_error"].as_str().unwrap();
    assert!(err.starts_with("HTTP 503") && err.contains("[redacted]") && !err.contains(HEC_TOKEN), "{err}");
    let deliveries = s.env.api("GET", &format!("/t/demo/api/v1/log-streams/{id}/deliveries"), &s.key, None);
    assert!(!deliveries.body.contains(HEC_TOKEN));
    assert_eq!(deliveries.json()["deliveries"].as_array().unwrap().len(), MAX_ATTEMPTS as usize);
    assert_eq!(deliveries.json()["deliveries"][0]["status_code"], 503);
    let dead = s.env.api("GET", &format!("/t/demo/api/v1/log-streams/{id}/dead-letters"), &s.key, None).json();
    let dead_id = dead["dead_letters"][0]["log_id"].as_str().unwrap().to_string();
    assert_eq!(dead["dead_letters"][0]["event"]["type"], "feacft");
    assert_eq!(dead["dead_letters"][0]["attempts"], MAX_ATTEMPTS);
    // Still failing past `suspend_after` (600 s since the first failure):
    // the stream is suspended, and the suspension is itself an audit event.
    failed_token(&s);
    s.env.host.clock.set_fixed(T0 + 601_000);
    assert_eq!(round(&s.env, "w1").suspended, 1);
    assert_eq!(stream(&s, &id)["status"]["state"], "suspended");
    let logs = s.env.api("GET", "/t/demo/api/v1/logs?type=log_stream_suspended", &s.key, None).json();
    assert_eq!(logs["logs"][0]["details"]["stream_id"], id.as_str());

    // Suspended: new events collect but nothing is sent.
    failed_token(&s);
    let n = s.env.host.outbound.sent.borrow().len();
    round(&s.env, "w1");
    assert_eq!(s.env.host.outbound.sent.borrow().len(), n);
    assert_eq!(stream(&s, &id)["status"]["events_pending"], 2);

    // Fixed, resumed and redelivered: everything arrives, nothing is left.
    s.env.host.outbound.status.set(200);
    let r = s.env.api("POST", &format!("/t/demo/api/v1/log-streams/{id}/resume"), &s.key, None);
    assert_eq!(r.json()["status"]["state"], "active");
    let r =
        s.env.api("POST", &format!("/t/demo/api/v1/log-streams/{id}/dead-letters/{dead_id}/redeliver"), &s.key, None);
    assert_eq!(r.json()["redelivered"], 1);
    let r =
        s.env.api("POST", &format!("/t/demo/api/v1/log-streams/{id}/dead-letters/{dead_id}/redeliver"), &s.key, None);
    assert_eq!(r.status, 404, "already redelivered");
    round(&s.env, "w1");
    let last = sent_to(&s.env, "http://flaky.test/in").pop().unwrap();
    let ids: Vec<String> = events_in(&last.1).iter().map(|e| e["log_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.contains(&dead_id));
    let st = stream(&s, &id)["status"].clone();
    assert_eq!((st["dead_letters"].as_i64(), st["events_pending"].as_i64()), (Some(0), Some(0)), "{st}");
    assert!(st["failing_since"].is_null());
}

#[test]
fn pause_collects_events_and_resume_catches_up() {
    let s = setup();
    let id = create(&s, "demo", &s.key, json!({ "name": "p", "type": "http", "sink": { "url": "http://p.test/in", "content_format": "json_lines", "gzip": true } }))["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s.env.api("POST", &format!("/t/demo/api/v1/log-streams/{id}/pause"), &s.key, None);
    assert_eq!(r.json()["status"]["state"], "paused");
    failed_token(&s);
    good_token(&s);
    round(&s.env, "w1");
    assert!(sent_to(&s.env, "http://p.test/").is_empty());
    assert!(stream(&s, &id)["status"]["events_pending"].as_i64().unwrap() >= 2);
    let r = s.env.api("POST", &format!("/t/demo/api/v1/log-streams/{id}/test"), &s.key, None);
    assert_eq!(r.status, 409, "a paused stream takes no test event: {}", r.body);
    s.env.api("POST", &format!("/t/demo/api/v1/log-streams/{id}/resume"), &s.key, None);
    let test_id = s.env.api("POST", &format!("/t/demo/api/v1/log-streams/{id}/test"), &s.key, None).json()["log_id"]
        .as_str()
        .unwrap()
        .to_string();
    round(&s.env, "w1");
    let sent = sent_to(&s.env, "http://p.test/in");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0["content-encoding"], "gzip");
    assert_eq!(sent[0].0["content-type"], "application/x-ndjson");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&sent[0].1[..]), &mut text).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.iter().any(|e| e["type"] == "feacft") && lines.iter().any(|e| e["type"] == "seccft"));
    assert!(lines.iter().any(|e| e["log_id"] == test_id.as_str() && e["type"] == "log_stream_test"));
}

#[test]
fn test_events_go_to_their_stream_alone() {
    let s = setup();
    let a = create(
        &s,
        "demo",
        &s.key,
        json!({ "name": "a", "type": "http", "sink": { "url": "http://a.test/in" }, "filters": { "types": ["fp"] } }),
    );
    create(&s, "demo", &s.key, json!({ "name": "b", "type": "http", "sink": { "url": "http://b.test/in" } }));
    let r = s.env.api("POST", &format!("/t/demo/api/v1/log-streams/{}/test", a["id"].as_str().unwrap()), &s.key, None);
    assert_eq!(r.status, 202, "{}", r.body);
    round(&s.env, "w1");
    let to_a: Vec<Value> = sent_to(&s.env, "http://a.test/").iter().flat_map(|(_, b)| events_in(b)).collect();
    assert_eq!(to_a.len(), 1, "outside its filter, yet its own test event: {to_a:?}");
    assert_eq!(to_a[0]["log_id"], r.json()["log_id"]);
    let to_b: Vec<Value> = sent_to(&s.env, "http://b.test/").iter().flat_map(|(_, b)| events_in(b)).collect();
    assert!(to_b.iter().all(|e| e["type"] != "log_stream_test"), "{to_b:?}");
}

#[test]
fn one_worker_at_a_time_holds_a_stream() {
    let s = setup();
    let id = create(&s, "demo", &s.key, json!({ "name": "l", "type": "http", "sink": { "url": "http://l.test/in" } }))
        ["id"]
        .as_str()
        .unwrap()
        .to_string();
    failed_token(&s);
    // Worker A holds the stream (and crashed holding it).
    s.env
        .host
        .db
        .conn()
        .execute(
            "UPDATE log_streams SET lease_owner = 'A', lease_until = ?1 WHERE id = ?2",
            rusqlite::params![T0 + LEASE_MS, id],
        )
        .unwrap();
    let r = round(&s.env, "B");
    assert_eq!((r.batches, r.busy), (0, 1), "{r:?}");
    // Even asked for that stream directly (as a worker that listed it just
    // before A took it would), B does not send.
    let tenant = tessera_core::types::TenantId(
        s.env.platform("GET", "/api/v1/internal/tenants/demo", None).json()["id"].as_str().unwrap().to_string(),
    );
    let view = HostView::new(&s.env.host);
    let mut report = Report::default();
    let attempt = pollster::block_on(delivery::deliver_stream(&view, &tenant, &id, "B", &mut report)).unwrap();
    assert_eq!(attempt, None);
    assert!(sent_to(&s.env, "http://l.test/").is_empty());
    // Its lease runs out; B takes over.
    s.env.host.clock.set_fixed(T0 + LEASE_MS + 1);
    assert_eq!(round(&s.env, "B").batches, 1);
    assert_eq!(sent_to(&s.env, "http://l.test/").len(), 1);
    let owner: Option<String> = s
        .env
        .host
        .db
        .conn()
        .query_row("SELECT lease_owner FROM log_streams WHERE id = ?1", [&id], |r| r.get(0))
        .unwrap();
    assert_eq!(owner, None, "released after the round");
}

#[test]
fn datadog_and_s3_requests_follow_their_apis() {
    let s = setup();
    create(
        &s,
        "demo",
        &s.key,
        json!({ "name": "dd", "type": "datadog", "sink": { "site": "datadoghq.eu", "api_key": "dd-key-0123456789abcdef", "tags": "env:test" } }),
    );
    create(
        &s,
        "demo",
        &s.key,
        json!({ "name": "s3", "type": "s3", "sink": { "bucket": "audit-logs", "region": "eu-west-1", "prefix": "tessera",
                "access_key_id": "AKIDEXAMPLE", "secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" } }),
    );
    let r = s.env.api(
        "POST",
        "/t/demo/api/v1/log-streams",
        &s.key,
        Some(json!({ "name": "bad", "type": "datadog", "sink": { "site": "example.com", "api_key": "k" } })),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    good_token(&s);
    round(&s.env, "w1");

    let dd = sent_to(&s.env, "https://http-intake.logs.datadoghq.eu/api/v2/logs");
    assert_eq!(dd.len(), 1);
    assert_eq!(dd[0].0["dd-api-key"], "dd-key-0123456789abcdef");
    let entries = events_in(&dd[0].1);
    let e = entries.iter().find(|e| e["type"] == "seccft").unwrap();
    assert_eq!(
        (e["ddsource"].as_str(), e["service"].as_str(), e["ddtags"].as_str()),
        (Some("tessera"), Some("tessera"), Some("env:test"))
    );
    assert_eq!(e["hostname"], "127.0.0.1");
    assert_eq!(e["message"], "token endpoint");

    let tenant =
        s.env.platform("GET", "/api/v1/internal/tenants/demo", None).json()["id"].as_str().unwrap().to_string();
    let puts: Vec<_> = s
        .env
        .host
        .outbound
        .sent
        .borrow()
        .iter()
        .filter(|r| r.method() == "PUT")
        .map(|r| (r.uri().to_string(), r.headers().clone()))
        .collect();
    assert_eq!(puts.len(), 1);
    let day = chrono::DateTime::from_timestamp_millis(T0).unwrap().format("%Y/%m/%d").to_string();
    let prefix = format!("https://audit-logs.s3.eu-west-1.amazonaws.com/tessera/{tenant}/{day}/bat_");
    assert!(puts[0].0.starts_with(&prefix) && puts[0].0.ends_with(".ndjson.gz"), "{}", puts[0].0);
    let auth = puts[0].1["authorization"].to_str().unwrap();
    let date = chrono::DateTime::from_timestamp_millis(T0).unwrap().format("%Y%m%d").to_string();
    assert!(
        auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{date}/eu-west-1/s3/aws4_request")),
        "{auth}"
    );
    assert_eq!(puts[0].1["content-encoding"], "gzip");
    assert_eq!(puts[0].1["x-amz-content-sha256"].len(), 64);
}

#[test]
fn maintenance_prunes_old_delivery_attempts() {
    let s = setup();
    create(&s, "demo", &s.key, json!({ "name": "m", "type": "http", "sink": { "url": "http://m.test/in" } }));
    good_token(&s);
    round(&s.env, "w1");
    let count = || -> i64 {
        s.env.host.db.conn().query_row("SELECT COUNT(*) FROM log_stream_deliveries", [], |r| r.get(0)).unwrap()
    };
    assert_eq!(count(), 1);
    s.env.host.clock.set_fixed(T0 + 6 * 86_400_000);
    assert_eq!(s.env.platform("POST", "/api/v1/internal/maintenance", None).status, 200);
    assert_eq!(count(), 1, "a week's attempts are kept");
    s.env.host.clock.set_fixed(T0 + 8 * 86_400_000);
    assert_eq!(s.env.platform("POST", "/api/v1/internal/maintenance", None).status, 200);
    assert_eq!(count(), 0);
}

#[test]
fn bad_streams_are_refused_with_problem_json() {
    let s = setup();
    for (spec, why) in [
        (json!({ "name": "x", "type": "http", "sink": { "url": "ftp://x.test/" } }), "url"),
        (json!({ "name": "x", "type": "http", "sink": { "url": "https://u:p@x.test/" } }), "credentials"),
        (json!({ "name": "x", "type": "splunk", "sink": { "url": "https://x.test" } }), "token"),
        (
            json!({ "name": "x", "type": "http", "sink": { "url": "https://x.test" }, "filters": { "categories": ["auth.logn"] } }),
            "category",
        ),
        (
            json!({ "name": "x", "type": "http", "sink": { "url": "https://x.test" }, "filters": { "types": ["nope"] } }),
            "type",
        ),
        (
            json!({ "name": "x", "type": "http", "sink": { "url": "https://x.test" }, "suspend_after_seconds": 5 }),
            "suspend_after",
        ),
        (json!({ "name": "x", "type": "pigeon", "sink": {} }), "variant"),
        (
            json!({ "name": "x", "type": "s3", "sink": { "bucket": "Bad_Bucket", "region": "us-east-1", "access_key_id": "a", "secret_access_key": "b" } }),
            "bucket",
        ),
    ] {
        let r = s.env.api("POST", "/t/demo/api/v1/log-streams", &s.key, Some(spec));
        assert_eq!(r.status, 400, "{why}: {}", r.body);
        assert_eq!(r.header("content-type"), "application/problem+json");
        assert!(r.body.contains(why), "{why}: {}", r.body);
    }
    // Plain HTTP only in dev mode (here a production configuration).
    s.env.host.set_var("DEV_MODE", "");
    s.env.host.set_var("PUBLIC_URL", "http://127.0.0.1:8787");
    s.env.host.set_var("EMAIL_FROM", "login@example.com");
    s.env.host.set_var("EMAIL_API_URL", "https://mail.example.com/send");
    s.env.host.set_secret("EMAIL_API_KEY", "re_test");
    let r = s.env.api(
        "POST",
        "/t/demo/api/v1/log-streams",
        &s.key,
        Some(json!({ "name": "x", "type": "http", "sink": { "url": "http://x.test/" } })),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    // Nor may a tenant aim a sink into the deployment's network.
    for url in ["https://169.254.169.254/latest/meta-data", "https://10.0.0.8/in", "https://localhost/in"] {
        let r = s.env.api(
            "POST",
            "/t/demo/api/v1/log-streams",
            &s.key,
            Some(json!({ "name": "x", "type": "http", "sink": { "url": url } })),
        );
        assert_eq!(r.status, 400, "{url}: {}", r.body);
    }
    let r = s.env.api(
        "POST",
        "/t/demo/api/v1/log-streams",
        &s.key,
        Some(json!({ "name": "x", "type": "s3", "sink": { "bucket": "b-1", "region": "us-east-1", "endpoint": "https://127.0.0.1:9000",
                "path_style": true, "access_key_id": "a", "secret_access_key": "b" } })),
    );
    assert_eq!(r.status, 400, "a derived URL is checked too: {}", r.body);
    assert_eq!(s.env.api("GET", "/t/demo/api/v1/log-streams", &s.key, None).json()["log_streams"], json!([]));
}

#[test]
fn log_sink_hosts_narrows_egress_at_delivery_too() {
    let s = setup();
    let id =
        create(&s, "demo", &s.key, json!({ "name": "a", "type": "http", "sink": { "url": "http://all.test/in" } }))
            ["id"]
            .as_str()
            .unwrap()
            .to_string();
    // The operator narrows egress after the stream was made.
    s.env.host.set_var("LOG_SINK_HOSTS", "127.0.0.1, *.siem.example");
    failed_token(&s);
    let r = round(&s.env, "w1");
    assert_eq!((r.batches, r.delivered), (1, 0), "{r:?}");
    assert!(s.env.host.outbound.sent.borrow().is_empty(), "nothing left the host");
    let st = stream(&s, &id)["status"].clone();
    assert!(st["last_error"].as_str().unwrap().contains("LOG_SINK_HOSTS"), "{st}");
    let r = s.env.api(
        "POST",
        "/t/demo/api/v1/log-streams",
        &s.key,
        Some(json!({ "name": "b", "type": "http", "sink": { "url": "https://eu.siem.example/in" } })),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = s.env.api(
        "POST",
        "/t/demo/api/v1/log-streams",
        &s.key,
        Some(json!({ "name": "c", "type": "datadog", "sink": { "api_key": "k" } })),
    );
    assert_eq!(r.status, 400, "Datadog's intake is not in the list: {}", r.body);
}

#[test]
fn the_admin_ui_manages_streams_and_shows_the_audit_log() {
    let s = setup();
    s.env.api("PATCH", &format!("/t/demo/api/v1/users/{}", s.user_id), &s.key, Some(json!({ "is_admin": true })));
    let mut admin = Browser::default();
    assert_eq!(s.env.login(&mut admin, "demo", "ana@example.com", "correct horse battery").status, 303);
    let r = s.env.submit(
        &mut admin,
        "/t/demo/admin/log-streams",
        "/t/demo/admin/log-streams",
        &[
            ("name", "SIEM"),
            ("type", "splunk"),
            ("url", "https://hec.example.test:8088"),
            ("secret", HEC_TOKEN),
            ("index", "auth"),
            ("categories", "auth.token_exchange, management"),
            ("min_severity", ""),
            ("suspend_after_seconds", "3600"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Stream created.") && !r.body.contains(HEC_TOKEN), "{}", r.body);
    let id = r.body.split("id=\"stream-id\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    let st = stream(&s, &id);
    assert_eq!(st["filters"]["categories"], json!(["auth.token_exchange", "management"]));
    assert_eq!(st["sink"]["index"], "auth");
    // A bad form comes back with the error, and creates nothing.
    let r = s.env.submit(
        &mut admin,
        "/t/demo/admin/log-streams",
        "/t/demo/admin/log-streams",
        &[("name", "bad"), ("type", "splunk"), ("url", "https://x.test"), ("secret", "t"), ("categories", "auth.nope")],
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("unknown category"), "{}", r.body);
    assert_eq!(
        s.env.api("GET", "/t/demo/api/v1/log-streams", &s.key, None).json()["log_streams"].as_array().unwrap().len(),
        1
    );

    // Pause from the page; a test event is refused while paused.
    let page = format!("/t/demo/admin/log-streams/{id}");
    let r = s.env.submit(&mut admin, &page, &format!("{page}/pause"), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(stream(&s, &id)["status"]["state"], "paused");
    let r = s.env.submit(&mut admin, &page, &format!("{page}/test"), &[]);
    assert_eq!(r.status, 400);
    s.env.submit(&mut admin, &page, &format!("{page}/resume"), &[]);
    let r = s.env.submit(&mut admin, &page, &format!("{page}/test"), &[]);
    assert!(r.body.contains("is on its way"), "{}", r.body);
    round(&s.env, "w1");
    let r = s.env.get(&mut admin, &page);
    assert!(r.body.contains("<td>1</td>"), "one delivery shown: {}", r.body);
    // A new secret from the edit form replaces the old one.
    let r = s.env.submit(
        &mut admin,
        &page,
        &page,
        &[
            ("name", "SIEM"),
            ("secret", "new-hec-token-abcdefghijkl"),
            ("categories", ""),
            ("suspend_after_seconds", "3600"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    s.env.submit(&mut admin, &page, &format!("{page}/test"), &[]);
    round(&s.env, "w1");
    let last = sent_to(&s.env, "https://hec.example.test:8088/").pop().unwrap();
    assert_eq!(last.0["authorization"], "Splunk new-hec-token-abcdefghijkl");

    // The audit log page filters by category and severity.
    failed_token(&s);
    let r = s.env.get(&mut admin, "/t/demo/admin/logs?category=auth.token_exchange&severity=warning");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<code>feacft</code>") && !r.body.contains("<code>seccft</code>"), "{}", r.body);
    assert!(!r.body.contains("<code>sapi</code>"));
    let api = s.env.api("GET", "/t/demo/api/v1/logs?category=management", &s.key, None).json();
    assert!(api["logs"].as_array().unwrap().iter().all(|e| e["type"] == "sapi"));
    assert_eq!(s.env.api("GET", "/t/demo/api/v1/logs?severity=loud", &s.key, None).status, 400);
    // A filter given twice is refused, not read as its first value (found by
    // the contract fuzzer on the page); the page says so with its status.
    let r = s.env.api("GET", "/t/demo/api/v1/logs?type=feacft&type=sapi", &s.key, None);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("'type' is repeated"), "{}", r.body);
    let r = s.env.get(&mut admin, "/t/demo/admin/logs?type=feacft&type=sapi");
    assert_eq!(r.status, 400);
    assert!(r.body.contains("&#x27;type&#x27; is repeated"), "{}", r.body);
    assert!(!r.body.contains("<code>feacft</code>"), "no events under a refused filter");

    // Deleting from the page.
    let r = s.env.submit(&mut admin, &page, &format!("{page}/delete"), &[]);
    assert_eq!(r.status, 303);
    assert_eq!(s.env.api("GET", &format!("/t/demo/api/v1/log-streams/{id}"), &s.key, None).status, 404);
}

/// The Workers queue consumer stores events a request handed over unstored
/// (`{"store": event}`, a self-contained token's `seccft`) through
/// `logs::store_unstored`: the row is the one the request would have
/// written, a redelivered batch adds nothing, and an event of a tenant that
/// is gone does not refuse the rest of the batch.
#[test]
fn events_handed_over_unstored_are_stored_once_with_their_row() {
    let s = setup();
    let r = s.token(&[("grant_type", "client_credentials"), ("audience", API)]);
    assert_eq!(r.status, 200, "{}", r.body);
    let columns = "id, tenant_id, type, category, severity, description, user_id, client_ip, details, created_at, client_id, client_name, user_name, user_agent, hostname";
    let row = |id: &str| -> Option<Vec<String>> {
        s.env
            .host
            .db
            .conn()
            .query_row(&format!("SELECT {columns} FROM audit_events WHERE id = ?1"), [id], |r| {
                (0..15).map(|i| r.get::<_, Option<rusqlite::types::Value>>(i).map(|v| format!("{v:?}"))).collect()
            })
            .ok()
    };
    // The event as the request stored it here (no consumer on this host),
    // and its stream JSON from the outbox: what the queue would carry.
    let json: String = s
        .env
        .host
        .db
        .conn()
        .query_row("SELECT payload FROM event_outbox WHERE payload LIKE '%\"seccft\"%'", [], |r| r.get(0))
        .unwrap();
    let event: Value = serde_json::from_str(&json).unwrap();
    let id = event["log_id"].as_str().unwrap().to_string();
    let tenant = event["tenant_id"].as_str().unwrap().to_string();
    let stored = row(&id).expect("stored by the request");
    let seq: i64 =
        s.env.host.db.conn().query_row("SELECT seq FROM audit_events WHERE id = ?1", [&id], |r| r.get(0)).unwrap();
    s.env.host.db.conn().execute("DELETE FROM audit_events WHERE id = ?1", [&id]).unwrap();
    let gone = json.replace(&id, "evt_of_a_gone_tenant").replace(&tenant, "ten_gone");
    let view = HostView::new(&s.env.host);
    let events = [gone, json.clone(), json.clone()];
    pollster::block_on(tessera_core::logs::store_unstored(&view, &events)).unwrap();
    assert_eq!(row(&id).as_ref(), Some(&stored), "the consumer's row is the request's");
    let again: i64 =
        s.env.host.db.conn().query_row("SELECT seq FROM audit_events WHERE id = ?1", [&id], |r| r.get(0)).unwrap();
    assert!(again >= seq, "a place in the tenant's sequence");
    pollster::block_on(tessera_core::logs::store_unstored(&view, &events)).unwrap();
    let n: i64 =
        s.env.host.db.conn().query_row("SELECT count(*) FROM audit_events WHERE id = ?1", [&id], |r| r.get(0)).unwrap();
    assert_eq!(n, 1, "redelivered: stored once");
    let n: i64 = s
        .env
        .host
        .db
        .conn()
        .query_row("SELECT count(*) FROM audit_events WHERE id = 'evt_of_a_gone_tenant'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0, "a gone tenant's event is dropped, not the batch");
    let listed = s.env.api("GET", "/t/demo/api/v1/logs?type=seccft", &s.key, None).json();
    assert_eq!(listed["logs"].as_array().map_or(0, |a| a.len()), 1, "{listed}");

    // Several events of one tenant in one batch take the next places of its
    // sequence, in the order they came, after what it already holds.
    let top: i64 = s
        .env
        .host
        .db
        .conn()
        .query_row("SELECT MAX(seq) FROM audit_events WHERE tenant_id = ?1", [&tenant], |r| r.get(0))
        .unwrap();
    let more: Vec<String> =
        ["evt_batch_a", "evt_batch_b", "evt_batch_c"].iter().map(|n| json.replace(&id, n)).collect();
    pollster::block_on(tessera_core::logs::store_unstored(&view, &more)).unwrap();
    let seqs: Vec<i64> = ["evt_batch_a", "evt_batch_b", "evt_batch_c"]
        .iter()
        .map(|n| {
            s.env.host.db.conn().query_row("SELECT seq FROM audit_events WHERE id = ?1", [n], |r| r.get(0)).unwrap()
        })
        .collect();
    assert_eq!(seqs, vec![top + 1, top + 2, top + 3]);
}
