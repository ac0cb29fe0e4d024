//! Log-stream delivery by the native worker, to a local HTTP sink over real
//! SQLite (WAL) and real HTTP:
//!
//! 1. throughput: 100,000 events waiting in the outbox, delivered by one
//!    worker thread; events per second of wall time and per CPU-second of
//!    that thread (so per core);
//! 2. lag: a steady offered load (10,000 events/s for 10 s) written to the
//!    outbox while the worker runs; p50 and p99 from an event's time to its
//!    receipt.
//!
//! `cargo bench -p tessera-actions-host --bench delivery`

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tessera_actions_host::deliver::Worker;
use tessera_native::{NativeHost, SqliteDb};

const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const PLATFORM_KEY: &str = "bench-platform-key-0123456789";

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// CPU time of the calling thread (user + system), from /proc.
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|u| u.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|s| s.parse().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

#[derive(Default)]
struct Received {
    events: AtomicUsize,
    lags: Mutex<Vec<i64>>,
}

/// A minimal keep-alive HTTP/1.1 sink that counts events and their lag.
fn receiver(received: Arc<Received>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let received = received.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let at = now_ms();
                    let text = String::from_utf8_lossy(&body);
                    let mut lags = Vec::new();
                    for part in text.split("\"date\":\"").skip(1) {
                        let date = &part[..part.find('"').unwrap_or(0)];
                        if let Ok(d) = chrono::DateTime::parse_from_rfc3339(date) {
                            lags.push(at - d.timestamp_millis());
                        }
                    }
                    received.events.fetch_add(lags.len(), Ordering::Relaxed);
                    received.lags.lock().unwrap().extend(lags);
                    if writer.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

fn request(host: &NativeHost, method: &str, uri: &str, token: &str, body: serde_json::Value) -> serde_json::Value {
    let mut req = http::Request::builder()
        .method(method)
        .uri(format!("http://127.0.0.1:8787{uri}"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body.to_string().into_bytes())
        .unwrap();
    req.extensions_mut().insert(tessera_core::ClientIp("127.0.0.1".into()));
    let resp = host.handle(req);
    assert!(resp.status().is_success(), "{uri}: {}", String::from_utf8_lossy(resp.body()));
    serde_json::from_slice(resp.body()).unwrap()
}

/// A tenant with one HTTP stream to the sink; returns the tenant id.
fn setup(path: &Path, sink_port: u16) -> String {
    let host = NativeHost::with_db(SqliteDb::open(path).unwrap());
    host.set_secret("MASTER_KEY", MASTER_KEY);
    host.set_secret("PLATFORM_API_KEY", PLATFORM_KEY);
    host.set_var("DEV_MODE", "true");
    let tenant =
        request(&host, "POST", "/api/v1/internal/tenants", PLATFORM_KEY, serde_json::json!({ "slug": "bench" }));
    let key = request(&host, "POST", "/api/v1/internal/tenants/bench/api-keys", PLATFORM_KEY, serde_json::json!({}));
    let key = key["key"].as_str().unwrap();
    request(
        &host,
        "POST",
        "/t/bench/api/v1/log-streams",
        key,
        serde_json::json!({ "name": "sink", "type": "http", "sink": { "url": format!("http://127.0.0.1:{sink_port}/") } }),
    );
    host.db.conn().execute_batch("DELETE FROM event_outbox; PRAGMA journal_mode = WAL;").unwrap();
    tenant["id"].as_str().unwrap().to_string()
}

/// Writes `n` events to the outbox in one transaction, dated now.
fn produce(conn: &mut rusqlite::Connection, tenant: &str, next: &mut u64, n: usize) {
    let tx = conn.transaction().unwrap();
    {
        let mut st =
            tx.prepare_cached("INSERT INTO event_outbox (id, payload, created_at) VALUES (?1, ?2, ?3)").unwrap();
        let now = now_ms();
        let date = tessera_core::logs::record::iso_date(now);
        for _ in 0..n {
            *next += 1;
            let id = format!("evt_bench{:016}", *next);
            let payload = format!(
                r#"{{"log_id":"{id}","date":"{date}","type":"seccft","description":"token endpoint","category":"auth.token_exchange.success","severity":"info","tenant_id":"{tenant}","client_id":"cli_bench","client_name":"bench","ip":"127.0.0.1","user_agent":null,"hostname":"127.0.0.1","user_id":null,"user_name":null,"details":{{"grant_type":"client_credentials"}}}}"#
            );
            st.execute(rusqlite::params![id, payload, now]).unwrap();
        }
    }
    tx.commit().unwrap();
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let dir = std::env::temp_dir().join(format!("tessera-bench-delivery-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bench.db");
    let received = Arc::new(Received::default());
    let port = receiver(received.clone());
    let tenant = setup(&path, port);
    let mut conn = rusqlite::Connection::open(&path).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let worker = |stop: Arc<AtomicBool>| {
        let path = path.clone();
        std::thread::spawn(move || {
            let w = Worker {
                actions_secret: None,
                db_path: &path,
                master_key: MASTER_KEY,
                previous_master_key: None,
                vars: vec![("DEV_MODE".into(), "true".into())],
                owner: "bench".into(),
                poll: Duration::from_millis(5),
                timeout: Duration::from_secs(10),
                quiet: true,
            };
            let started = thread_cpu();
            w.run(|| !stop.load(Ordering::Relaxed), false).unwrap();
            thread_cpu() - started
        })
    };

    // 1. Throughput: a backlog, drained by one worker thread.
    let backlog = 100_000;
    let mut next = 0;
    for _ in 0..backlog / 5_000 {
        produce(&mut conn, &tenant, &mut next, 5_000);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let t0 = Instant::now();
    let handle = worker(stop.clone());
    while received.events.load(Ordering::Relaxed) < backlog {
        std::thread::sleep(Duration::from_millis(2));
    }
    let wall = t0.elapsed();
    stop.store(true, Ordering::Relaxed);
    let cpu = handle.join().unwrap();
    println!(
        "log delivery (native worker, HTTP sink): {backlog} events in {:.2} s = {:.0} events/s; worker thread CPU {:.2} s = {:.0} events per CPU-second",
        wall.as_secs_f64(),
        backlog as f64 / wall.as_secs_f64(),
        cpu.as_secs_f64(),
        backlog as f64 / cpu.as_secs_f64().max(0.01),
    );

    // 2. Lag at a steady offered load.
    received.lags.lock().unwrap().clear();
    let rate = 10_000usize;
    let seconds = 10;
    let before = received.events.load(Ordering::Relaxed);
    let stop = Arc::new(AtomicBool::new(false));
    let handle = worker(stop.clone());
    let start = Instant::now();
    let tick = Duration::from_millis(20);
    for i in 1..=(seconds * 1000 / 20) {
        produce(&mut conn, &tenant, &mut next, rate / 50);
        let due = start + tick * i as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    let offered = rate * seconds;
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.events.load(Ordering::Relaxed) - before < offered && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    handle.join().unwrap();
    let mut lags = received.lags.lock().unwrap().clone();
    lags.sort_unstable();
    println!(
        "log delivery lag at {rate} events/s offered for {seconds} s: {} of {offered} delivered, p50 {} ms, p99 {} ms, max {} ms",
        lags.len(),
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        lags.last().copied().unwrap_or(0),
    );
    let _ = std::fs::remove_dir_all(&dir);
}
