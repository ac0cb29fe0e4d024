//! The audit log at scale: every list query is served by an index in the
//! order it returns (no SCAN of the table, no temporary sort), whatever the
//! filters; retention deletes in bounded batches.

use super::native_host_support::*;
use tessera_core::host::Value as V;
use tessera_core::logs::retention::{delete_expired, Swept};
use tessera_core::logs::{list_query, platform_query, ListFilter};

fn log_ids(r: &Resp) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["logs"].as_array().unwrap().iter().map(|e| e["log_id"].as_str().unwrap().to_string()).collect()
}
use tessera_core::types::TenantId;
use tessera_native::HostView;

const DAY: i64 = 86_400_000;

/// The plan's lines for `sql` with `params`.
fn plan(env: &Env, sql: &str, params: &[V]) -> Vec<String> {
    let conn = env.host.db.conn();
    let mut st = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let params: Vec<rusqlite::types::Value> = params.iter().map(tessera_native::to_sql).collect();
    st.query_map(rusqlite::params_from_iter(params), |r| r.get::<_, String>(3)).unwrap().map(|r| r.unwrap()).collect()
}

/// `n` events for `tenant` (None: the platform), one a minute back from
/// `newest`, spread over types, users and clients.
fn insert_events(env: &Env, tenant: Option<&str>, n: i64, newest: i64) {
    let mut conn = env.host.db.conn();
    let tx = conn.transaction().unwrap();
    {
        let mut st = tx
            .prepare(
                "INSERT INTO audit_events (id, tenant_id, type, category, severity, description, user_id, client_id, client_ip, details, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'bench', ?6, ?7, '10.0.0.1', '{}', ?8)",
            )
            .unwrap();
        for i in 0..n {
            let (kind, sev) =
                [("s", "info"), ("fp", "warning"), ("seccft", "info"), ("limit_wc", "error")][(i % 4) as usize];
            let category = if tenant.is_none() { "platform" } else { "authentication" };
            st.execute(rusqlite::params![
                format!("evt_{}_{newest}_{i}", tenant.unwrap_or("platform")),
                tenant,
                kind,
                category,
                sev,
                format!("usr_{}", i % 50),
                format!("cli_{}", i % 7),
                newest - i * 60_000,
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
}

fn tenant_id(env: &Env, slug: &str) -> String {
    env.host.db.conn().query_row("SELECT id FROM tenants WHERE slug = ?1", [slug], |r| r.get(0)).unwrap()
}

fn assert_indexed(what: &str, lines: &[String]) {
    for l in lines {
        assert!(!l.contains("TEMP B-TREE"), "{what}: a temporary sort: {lines:?}");
        if l.contains("audit_events") {
            assert!(l.starts_with("SEARCH audit_events USING"), "{what}: not an index search: {lines:?}");
        }
    }
    assert!(lines.iter().any(|l| l.contains("audit_events")), "{what}: {lines:?}");
}

#[test]
fn every_audit_log_query_is_served_by_an_index_in_order() {
    let env = Env::new();
    env.tenant("demo");
    env.tenant("other");
    let demo = tenant_id(&env, "demo");
    insert_events(&env, Some(&demo), 3_000, T0);
    insert_events(&env, Some(&tenant_id(&env, "other")), 1_000, T0);
    insert_events(&env, None, 500, T0);
    let t = TenantId(demo.clone());
    let f = |edit: &dyn Fn(&mut ListFilter)| {
        let mut f = ListFilter::default();
        edit(&mut f);
        f
    };
    let shapes: Vec<(&str, ListFilter)> = vec![
        ("tenant list", ListFilter::default()),
        ("by type", f(&|f| f.kind = Some("fp".into()))),
        ("by user", f(&|f| f.user_id = Some("usr_3".into()))),
        ("by client", f(&|f| f.client_id = Some("cli_2".into()))),
        ("since", f(&|f| f.since = Some(T0 - DAY))),
        (
            "date range",
            f(&|f| {
                f.since = Some(T0 - DAY);
                f.until = Some(T0 - DAY / 2)
            }),
        ),
        ("by category", f(&|f| f.category = Some("auth.login".into()))),
        ("by severity", f(&|f| f.min_severity = Some("warning".into()))),
        (
            "type and user",
            f(&|f| {
                f.kind = Some("s".into());
                f.user_id = Some("usr_4".into())
            }),
        ),
        (
            "user in a date range",
            f(&|f| {
                f.user_id = Some("usr_4".into());
                f.since = Some(T0 - DAY);
                f.until = Some(T0)
            }),
        ),
        (
            "category, severity, since",
            f(&|f| {
                f.category = Some("auth".into());
                f.min_severity = Some("warning".into());
                f.since = Some(T0 - DAY)
            }),
        ),
    ];
    // Without statistics, and with them (what `PRAGMA optimize` gives D1).
    for analyzed in [false, true] {
        if analyzed {
            env.host.db.conn().execute_batch("ANALYZE").unwrap();
        }
        for (what, filter) in &shapes {
            let (sql, params) = list_query(&t, filter, 20);
            assert_indexed(&format!("{what} (analyzed: {analyzed})"), &plan(&env, &sql, &params));
        }
        let (sql, params) = platform_query(20);
        assert_indexed("platform list", &plan(&env, &sql, &params));
        for from in [None, Some("evt_some")] {
            let (sql, params) = tessera_core::logs::checkpoint_query(&t, from, 100);
            assert_indexed(&format!("checkpoint from {from:?}"), &plan(&env, &sql, &params));
        }
    }

    // And the queries answer what they say, newest first, in the tenant.
    let view = HostView::new(&env.host);
    let got = pollster::block_on(tessera_core::logs::list(&view, &t, &shapes[2].1, 5)).unwrap();
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(|e| e.user_id.as_deref() == Some("usr_3")));
    assert!(got.windows(2).all(|w| w[0].date >= w[1].date));
    let ranged = pollster::block_on(tessera_core::logs::list(&view, &t, &shapes[5].1, 1000)).unwrap();
    assert_eq!(ranged.len(), 720, "12 hours of one event a minute");
}

#[test]
fn the_logs_api_filters_by_user_client_and_dates() {
    let env = Env::new();
    let key = env.tenant("demo");
    let demo = tenant_id(&env, "demo");
    insert_events(&env, Some(&demo), 200, T0);
    let r = env.api("GET", "/t/demo/api/v1/logs?user_id=usr_1&client_id=cli_1&limit=100", &key, None);
    assert_eq!(r.status, 200, "{}", r.body);
    let logs = r.json()["logs"].as_array().unwrap().clone();
    // i % 50 == 1 and i % 7 == 1: i in {1, 351, ...} below 200: just i = 1.
    assert_eq!(logs.len(), 1, "{logs:?}");
    let since = tessera_core::logs::record::iso_date(T0 - 10 * 60_000);
    let r = env.api("GET", &format!("/t/demo/api/v1/logs?since={}&limit=100", urlencode(&since)), &key, None);
    // Ten minutes back, inclusive, plus what the API calls themselves logged.
    let n = r.json()["logs"].as_array().unwrap().iter().filter(|e| e["description"] == "bench").count();
    assert_eq!(n, 11);
    for bad in ["since=yesterday", "since=", "until=", "take="] {
        let r = env.api("GET", &format!("/t/demo/api/v1/logs?{bad}"), &key, None);
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(r.header("content-type"), "application/problem+json");
    }
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[test]
fn retention_deletes_a_backlog_in_bounded_batches() {
    let env = Env::new();
    env.tenant("demo");
    env.tenant("other");
    let demo = tenant_id(&env, "demo");
    let other = tenant_id(&env, "other");
    // 250 events older than the cutoff, 10 newer; another tenant's old ones.
    let cutoff = T0 - 100 * DAY;
    insert_events(&env, Some(&demo), 10, T0);
    {
        let newest = cutoff - 1;
        insert_events(&env, Some(&other), 30, newest);
        // Distinct ids for the second batch of demo's events.
        let mut conn = env.host.db.conn();
        let tx = conn.transaction().unwrap();
        for i in 0..250 {
            tx.execute(
                "INSERT INTO audit_events (id, tenant_id, type, category, severity, description, client_ip, details, created_at)
                 VALUES (?1, ?2, 's', 'authentication', 'info', 'old', '10.0.0.1', '{}', ?3)",
                rusqlite::params![format!("evt_old_{i}"), demo, newest - i * 1000],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let view = HostView::new(&env.host);
    let t = TenantId(demo.clone());
    let count = |tenant: &str| -> i64 {
        env.host
            .db
            .conn()
            .query_row("SELECT COUNT(*) FROM audit_events WHERE tenant_id = ?1", [tenant], |r| r.get(0))
            .unwrap()
    };
    // The tenant's own events from its creation, plus the 10 recent ones.
    let fresh = count(&demo) - 250;
    // Two statements of 100: bounded, and the rest is left for later.
    let first = pollster::block_on(delete_expired(&view, Some(&t), cutoff, 100, 2)).unwrap();
    assert_eq!(first, Swept { deleted: 200, statements: 2, more: true });
    assert_eq!(count(&demo), fresh + 50);
    let second = pollster::block_on(delete_expired(&view, Some(&t), cutoff, 100, 2)).unwrap();
    assert_eq!(second, Swept { deleted: 50, statements: 1, more: false });
    assert_eq!(count(&demo), fresh, "the newer events stay");
    let other_before = count(&other);
    assert!(other_before >= 30, "another tenant's events are its own retention's business");

    // The maintenance run takes a backlog larger than one batch (1,000).
    insert_events(&env, Some(&other), 2_500, T0 - 400 * DAY);
    let report = pollster::block_on(tessera_core::usecases::maintenance::run(&view)).unwrap();
    assert!(!report.audit_backlog);
    let expired_left: i64 = env
        .host
        .db
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM audit_events WHERE tenant_id = ?1 AND created_at < ?2",
            rusqlite::params![other, T0 - 30 * DAY],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(expired_left, 0, "30 + 2,500 expired events, all gone");
    assert_eq!(count(&other), other_before - 30, "its recent events stay");
    assert_eq!(count(&demo), fresh);
}

#[test]
fn checkpoint_pagination_follows_storage_order_and_is_stable_while_events_arrive() {
    let env = Env::new();
    let key = env.tenant("demo");
    let other = env.tenant("other");
    let make_user = |n: usize| {
        let r = env.api("POST", "/t/demo/api/v1/users", &key, Some(json!({ "email": format!("u{n}@example.com") })));
        assert_eq!(r.status, 201, "{}", r.body);
    };
    for n in 0..3 {
        make_user(n);
    }
    // An event stored later with an earlier timestamp (a late writer).
    env.host.clock.set_fixed(T0 - 3_600_000);
    make_user(3);
    env.host.clock.set_fixed(T0);
    let everything = log_ids(&env.api("GET", "/t/demo/api/v1/logs?take=100", &key, None));
    // Walk it two at a time from the start.
    let mut walked = Vec::new();
    let mut from: Option<String> = None;
    loop {
        let q = match &from {
            Some(f) => format!("/t/demo/api/v1/logs?from={f}&take=2"),
            None => "/t/demo/api/v1/logs?take=2".to_string(),
        };
        let page = log_ids(&env.api("GET", &q, &key, None));
        if page.is_empty() {
            break;
        }
        if walked.len() == 4 {
            // New events arrive mid-walk: they come at the end, once.
            make_user(10);
            make_user(11);
        }
        from = page.last().cloned();
        walked.extend(page);
    }
    assert!(walked.starts_with(&everything), "{walked:?} vs {everything:?}");
    let stored: Vec<String> = {
        let conn = env.host.db.conn();
        let demo: String = conn.query_row("SELECT id FROM tenants WHERE slug = 'demo'", [], |r| r.get(0)).unwrap();
        let mut st = conn.prepare("SELECT id FROM audit_events WHERE tenant_id = ?1 ORDER BY rowid").unwrap();
        st.query_map([demo], |r| r.get(0)).unwrap().map(|r| r.unwrap()).collect()
    };
    assert_eq!(walked, stored, "storage order, every event once, the late ones at the end");
    let mut unique = walked.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), walked.len(), "no event twice");
    // The late event is in storage order, after the three before it, though
    // the newest-first list puts it last.
    let newest_first = log_ids(&env.api("GET", "/t/demo/api/v1/logs?limit=100", &key, None));
    assert_ne!(newest_first.iter().rev().cloned().collect::<Vec<_>>(), walked, "the orders differ");

    // Another tenant's checkpoint, filters with a checkpoint, bad takes.
    let foreign = log_ids(&env.api("GET", "/t/other/api/v1/logs?take=1", &other, None));
    for q in [
        format!("from={}", foreign[0]),
        format!("from={}&type=sapi", walked[0]),
        "take=0".to_string(),
        "take=101".to_string(),
        "take=ten".to_string(),
    ] {
        let r = env.api("GET", &format!("/t/demo/api/v1/logs?{q}"), &key, None);
        assert_eq!(r.status, 400, "{q}: {}", r.body);
        assert_eq!(r.header("content-type"), "application/problem+json");
    }
}
