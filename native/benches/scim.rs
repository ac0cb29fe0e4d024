//! SCIM over 10,000 provisioned users, through `tessera_core::handle` over
//! file SQLite with the real migrations: the lookup IdPs make before every
//! create (`userName eq`, served by an index), an unindexed filter (a scan
//! of every user, chunk by chunk), a plain page, and a PATCH (Entra ID's
//! deactivate-and-reactivate, which also ends the user's grants).

use std::time::Instant;

use tessera_native::NativeHost;

const PLATFORM: &str = "bench-platform-key-0123456789";
const USERS: usize = 10_000;

fn call(host: &NativeHost, method: &str, uri: &str, token: &str, body: &str) -> (u16, Vec<u8>) {
    let req = http::Request::builder()
        .method(method)
        .uri(format!("http://127.0.0.1:8787{uri}"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/scim+json")
        .body(body.as_bytes().to_vec())
        .expect("request");
    let resp = host.handle(req);
    (resp.status().as_u16(), resp.into_body())
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap_or_default()
}

/// Median and p99 (ms) of `runs` calls.
fn time(runs: usize, mut f: impl FnMut(usize)) -> (f64, f64) {
    for i in 0..5 {
        f(i);
    }
    let mut t: Vec<f64> = (0..runs)
        .map(|i| {
            let s = Instant::now();
            f(i);
            s.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    (t[runs / 2], t[runs * 99 / 100])
}

fn main() {
    let dir = std::env::temp_dir().join(format!("tessera-bench-scim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let host = NativeHost::with_db(tessera_native::SqliteDb::open(&dir.join("bench.db")).expect("migrations"));
    host.set_secret("MASTER_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    host.set_secret("PLATFORM_API_KEY", PLATFORM);
    host.set_var("DEV_MODE", "true");
    let (_, t) = call(&host, "POST", "/api/v1/internal/tenants", PLATFORM, r#"{"slug":"bench"}"#);
    assert!(!json(&t).is_null());
    let (_, k) = call(&host, "POST", "/api/v1/internal/tenants/bench/api-keys", PLATFORM, "");
    let key = json(&k)["key"].as_str().expect("key").to_string();
    let req = |method: &str, uri: &str, body: &str| {
        let r = http::Request::builder()
            .method(method)
            .uri(format!("http://127.0.0.1:8787{uri}"))
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .body(body.as_bytes().to_vec())
            .expect("request");
        json(host.handle(r).body())
    };
    req("PATCH", "/t/bench/api/v1/scim", r#"{"enabled":true}"#);
    let token =
        req("POST", "/t/bench/api/v1/scim/tokens", r#"{"name":"bench"}"#)["token"].as_str().expect("token").to_string();

    // Provisioned through the endpoint itself, as an IdP's first sync does.
    let started = Instant::now();
    let mut ids = Vec::with_capacity(USERS);
    for i in 0..USERS {
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": format!("user{i:05}@corp.example"),
            "name": { "givenName": format!("Given{i}"), "familyName": format!("Family{}", i % 97) },
            "emails": [{ "value": format!("user{i:05}@corp.example"), "type": "work", "primary": true }],
            "title": if i % 10 == 0 { "Engineer" } else { "Analyst" },
            "externalId": format!("ext-{i}"),
            "active": true,
        });
        let (status, body) = call(&host, "POST", "/t/bench/scim/v2/Users", &token, &body.to_string());
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
        ids.push(json(&body)["id"].as_str().expect("id").to_string());
    }
    let provision_ms = started.elapsed().as_secs_f64() * 1000.0 / USERS as f64;
    host.db.conn().execute_batch("PRAGMA optimize").expect("optimize");

    println!("SCIM over {USERS} users natively (file SQLite, the real migrations), median / p99:");
    println!("  POST /Users (provisioning, no password): {provision_ms:.3} ms mean over {USERS}");
    let by_name = time(200, |i| {
        let uri = format!("/t/bench/scim/v2/Users?filter=userName%20eq%20%22USER{:05}%40corp.example%22", i % USERS);
        let (status, body) = call(&host, "GET", &uri, &token, "");
        assert_eq!((status, json(&body)["totalResults"].as_i64()), (200, Some(1)));
    });
    println!("  filter userName eq (index):              {:.3} / {:.3} ms", by_name.0, by_name.1);
    let by_external = time(200, |i| {
        let uri = format!("/t/bench/scim/v2/Users?filter=externalId%20eq%20%22ext-{}%22", i % USERS);
        let (status, _) = call(&host, "GET", &uri, &token, "");
        assert_eq!(status, 200);
    });
    println!("  filter externalId eq (index):            {:.3} / {:.3} ms", by_external.0, by_external.1);
    let plain = time(100, |_| {
        let (status, _) = call(&host, "GET", "/t/bench/scim/v2/Users?startIndex=5001&count=100", &token, "");
        assert_eq!(status, 200);
    });
    println!("  page of 100 at startIndex 5001:          {:.3} / {:.3} ms", plain.0, plain.1);
    let scan = time(10, |_| {
        let uri = "/t/bench/scim/v2/Users?filter=title%20eq%20%22engineer%22%20and%20name.familyName%20sw%20%22Family1%22&count=10";
        let (status, body) = call(&host, "GET", uri, &token, "");
        assert_eq!(status, 200);
        assert!(json(&body)["totalResults"].as_i64().unwrap_or(0) > 0);
    });
    println!("  unindexed filter (scans {USERS} users):   {:.3} / {:.3} ms", scan.0, scan.1);
    let patch = time(200, |i| {
        let active = if i % 2 == 0 { "False" } else { "True" };
        let body = format!(
            r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"Replace","value":{{"active":"{active}"}}}}]}}"#
        );
        let (status, _) = call(&host, "PATCH", &format!("/t/bench/scim/v2/Users/{}", ids[i % 50]), &token, &body);
        assert_eq!(status, 200);
    });
    println!("  PATCH active (Entra ID's deactivation):  {:.3} / {:.3} ms", patch.0, patch.1);
    let _ = std::fs::remove_dir_all(&dir);
}
