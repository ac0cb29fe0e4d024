//! The audit log's list latency as the table grows: `GET /logs?limit=20`
//! (newest first, and filtered by a user) through `tessera_core::handle`
//! over SQLite with the real migrations, with 10 thousand, 100 thousand and
//! 1 million events in one tenant, beside `GET /users?limit=20` with as
//! many users. The figures should be flat: every list is served by an index
//! in its order (see native/tests/domain/audit_log.rs).

use std::time::Instant;

use tessera_native::NativeHost;

const PLATFORM: &str = "bench-platform-key-0123456789";

fn send(host: &NativeHost, uri: &str, token: &str) -> u16 {
    let req = http::Request::builder()
        .method("GET")
        .uri(format!("http://127.0.0.1:8787{uri}"))
        .header("authorization", format!("Bearer {token}"))
        .body(Vec::new())
        .expect("request");
    host.handle(req).status().as_u16()
}

fn post(host: &NativeHost, uri: &str, body: &str) -> serde_json::Value {
    let req = http::Request::builder()
        .method("POST")
        .uri(format!("http://127.0.0.1:8787{uri}"))
        .header("authorization", format!("Bearer {PLATFORM}"))
        .header("content-type", "application/json")
        .body(body.as_bytes().to_vec())
        .expect("request");
    serde_json::from_slice(host.handle(req).body()).unwrap_or_default()
}

/// Adds rows up to `total` events and users in the tenant.
fn grow(host: &NativeHost, tenant: &str, from: i64, total: i64, now: i64) {
    let mut conn = host.db.conn();
    let tx = conn.transaction().expect("transaction");
    {
        let mut ev = tx
            .prepare(
                "INSERT INTO audit_events (id, tenant_id, type, category, severity, description, user_id, client_id, client_ip, details, created_at)
                 VALUES (?1, ?2, 'seccft', 'token', 'info', 'client credentials', ?3, 'cli_bench', '10.0.0.1', '{}', ?4)",
            )
            .expect("prepare");
        let mut us = tx
            .prepare(
                "INSERT INTO users (id, tenant_id, email, email_verified, created_at, updated_at) VALUES (?1, ?2, ?3, 1, ?4, ?4)",
            )
            .expect("prepare");
        for i in from..total {
            // Events over the last 29 days, newest last, as traffic writes them.
            let at = now - (total - i) * 2_500 % (29 * 86_400_000);
            ev.execute(rusqlite::params![format!("evt_{i:010}"), tenant, format!("usr_{:010}", i % 1000), at])
                .expect("event");
            us.execute(rusqlite::params![format!("usr_{i:010}"), tenant, format!("user{i}@bench.test"), at])
                .expect("user");
        }
    }
    tx.commit().expect("commit");
}

/// Median and p99 latency (ms) of `runs` requests to `uri`.
fn time(host: &NativeHost, uri: &str, token: &str, runs: usize) -> (f64, f64) {
    for _ in 0..10 {
        assert_eq!(send(host, uri, token), 200, "{uri}");
    }
    let mut t: Vec<f64> = (0..runs)
        .map(|_| {
            let s = Instant::now();
            send(host, uri, token);
            s.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    (t[runs / 2], t[runs * 99 / 100])
}

fn main() {
    let dir = std::env::temp_dir().join(format!("tessera-bench-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let host = NativeHost::with_db(tessera_native::SqliteDb::open(&dir.join("bench.db")).expect("migrations"));
    host.set_secret("MASTER_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    host.set_secret("PLATFORM_API_KEY", PLATFORM);
    host.set_var("DEV_MODE", "true");
    post(&host, "/api/v1/internal/tenants", r#"{"slug":"bench"}"#);
    let key = post(&host, "/api/v1/internal/tenants/bench/api-keys", "")["key"].as_str().expect("key").to_string();
    let tenant: String =
        host.db.conn().query_row("SELECT id FROM tenants WHERE slug = 'bench'", [], |r| r.get(0)).expect("tenant");
    let now = host.clock.now_ms_pub();
    println!("audit log and users lists natively (file SQLite, the real migrations), median / p99 of 200 requests:");
    let mut have = 0;
    for size in [10_000, 100_000, 1_000_000] {
        grow(&host, &tenant, have, size, now);
        have = size;
        host.db.conn().execute_batch("PRAGMA optimize").expect("optimize");
        let logs = time(&host, "/t/bench/api/v1/logs?limit=20", &key, 200);
        let by_user = time(&host, "/t/bench/api/v1/logs?limit=20&user_id=usr_0000000007", &key, 200);
        let users = time(&host, "/t/bench/api/v1/users?limit=20", &key, 200);
        println!(
            "  {size:>9} events and users: logs {:.3} / {:.3} ms, logs of one user {:.3} / {:.3} ms, users {:.3} / {:.3} ms",
            logs.0, logs.1, by_user.0, by_user.1, users.0, users.1
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    storage_and_write_rate();
}

/// A token request's event as the core prepares it, for `tenant`.
fn token_event(host: &NativeHost, tenant: &tessera_core::types::TenantId) -> tessera_core::host::Statement {
    use tessera_core::logs::{prepare, Audit, EventContext, EventType};
    let audit = Audit {
        tenant: Some(tenant),
        kind: EventType::TokenFromClientCredentials,
        description: "client credentials".into(),
        user: None,
        context: EventContext {
            client_id: Some("k3Jd9sPq0aLm2Xz8Vb7Nc6Qw".into()),
            client_name: Some("Billing service".into()),
            user_agent: Some(
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
                    .into(),
            ),
            hostname: Some("id.example.com".into()),
            ..Default::default()
        },
        client_ip: "203.0.113.42",
        details: serde_json::json!({ "scope": "read:things", "audience": "https://api.example.com" }),
    };
    prepare(&tessera_native::HostView::new(host), audit).into_statement().0
}

fn run(host: &NativeHost, st: &tessera_core::host::Statement) {
    let conn = host.db.conn();
    let params: Vec<rusqlite::types::Value> = st.params.iter().map(tessera_native::to_sql).collect();
    conn.execute(&st.sql, rusqlite::params_from_iter(params)).expect("insert");
}

fn storage_and_write_rate() {
    let dir = std::env::temp_dir().join(format!("tessera-bench-events-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let host = NativeHost::with_db(tessera_native::SqliteDb::open(&dir.join("events.db")).expect("migrations"));
    host.set_secret("MASTER_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    host.set_secret("PLATFORM_API_KEY", PLATFORM);
    host.set_var("DEV_MODE", "true");
    post(&host, "/api/v1/internal/tenants", r#"{"slug":"bench"}"#);
    let tenant = tessera_core::types::TenantId(
        host.db.conn().query_row("SELECT id FROM tenants WHERE slug = 'bench'", [], |r| r.get(0)).expect("tenant"),
    );
    let size = |host: &NativeHost| -> i64 {
        host.db
            .conn()
            .query_row("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()", [], |r| r.get(0))
            .expect("size")
    };
    // One at a time, each its own transaction (what a request does).
    let n = 20_000;
    let before = size(&host);
    let t = Instant::now();
    for _ in 0..n {
        run(&host, &token_event(&host, &tenant));
    }
    let single = n as f64 / t.elapsed().as_secs_f64();
    // In batches of 100 per transaction (what a queue consumer could do).
    let batches = 800;
    let t = Instant::now();
    for _ in 0..batches {
        host.db.conn().execute_batch("BEGIN").expect("begin");
        for _ in 0..100 {
            run(&host, &token_event(&host, &tenant));
        }
        host.db.conn().execute_batch("COMMIT").expect("commit");
    }
    let batched = (batches * 100) as f64 / t.elapsed().as_secs_f64();
    let stored = n + batches * 100;
    let bytes = (size(&host) - before) as f64 / stored as f64;
    println!(
        "a token request's audit event: {bytes:.0} bytes stored (row and its 7 indexes, {stored} events); \
         {single:.0} events/s one per transaction, {batched:.0} events/s in batches of 100 (native SQLite, one thread, a file with the rollback journal)"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
