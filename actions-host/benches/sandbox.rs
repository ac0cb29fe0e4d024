//! What one action run costs inside the sandbox, without HTTP: a fresh
//! instance of the pre-initialised runner, the action loaded and run, the
//! outcome read back. A trivial post-login action and the 200-line one of
//! `bench/fixtures/post-login-200.js`; p50/p99 of the run and the calling
//! thread's CPU per run. `bench/actions.mjs` measures the same through the
//! host's signed HTTP endpoint.
//!
//! `cargo bench -p tessera-actions-host --bench sandbox` (after
//! `scripts/build-actions.sh`)

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tessera_actions_host::config::Limits;
use tessera_actions_host::sandbox::{content_hash, Sandbox};
use tessera_core::actions::protocol::{ActionCode, RunRequest, Runtime};
use tessera_core::actions::Trigger;

const RUNS: usize = 3000;
const TRIVIAL: &str = "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('https://example.com/plan', 'pro'); };";

/// CPU time of the calling thread (user + system), from its schedstat in
/// nanoseconds (finer than /proc's 10-ms ticks).
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    Duration::from_nanos(stat.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0))
}

fn pct(sorted: &[Duration], p: usize) -> f64 {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

fn request(source: &str) -> RunRequest {
    let event = serde_json::json!({
        "tenant": { "id": "ten_bench" },
        "user": { "user_id": "usr_1", "email": "ana@dept3.example.com", "name": "Ana Lovelace",
                  "app_metadata": { "groups": ["g5", "g9"] }, "user_metadata": {} },
        "client": { "client_id": "cli_1", "name": "Bench" },
        "request": { "ip": "198.51.100.7", "user_agent": "Mozilla/5.0", "geoip": { "countryCode": "FR" } },
        "authentication": { "methods": [{ "name": "pwd" }] },
    });
    RunRequest {
        id: "bench".into(),
        tenant: "ten_bench".into(),
        trigger: Trigger::PostLogin,
        now_ms: 1_767_225_600_000,
        event,
        actions: vec![ActionCode {
            action_id: "act_bench".into(),
            version: 1,
            runtime: Runtime::Js,
            hash: content_hash(source.as_bytes()),
            code: Some(source.into()),
            secrets: BTreeMap::new(),
        }],
    }
}

fn measure(sandbox: &Sandbox, label: &str, source: &str) {
    let req = request(source);
    let run = || {
        let out = sandbox.run(&req);
        let result = &out.results[0];
        assert!(result.error.is_none(), "{label}: {:?}", result.error);
        assert!(!result.decisions.is_empty(), "{label}: no decisions");
    };
    for _ in 0..200 {
        run();
    }
    let mut times = Vec::with_capacity(RUNS);
    let cpu = thread_cpu();
    for _ in 0..RUNS {
        let t = Instant::now();
        run();
        times.push(t.elapsed());
    }
    let cpu = (thread_cpu() - cpu).as_secs_f64() * 1000.0 / RUNS as f64;
    times.sort();
    println!("{label:<12} p50 {:.3} ms  p99 {:.3} ms  CPU {cpu:.3} ms/run", pct(&times, 50), pct(&times, 99));
}

fn main() {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let runner = root.join("target/wasm32-unknown-unknown/release/tessera_js_runner.wasm");
    let long = std::fs::read_to_string(root.join("bench/fixtures/post-login-200.js")).expect("the 200-line fixture");
    let cache = std::env::temp_dir().join("tessera-actions-bench-cache");
    let sandbox = Sandbox::new(Limits::default(), 8, &runner, &cache).expect("the sandbox starts");
    println!("sandbox runs, {RUNS} each, one at a time (instantiate + load + run + outcome)");
    measure(&sandbox, "trivial", TRIVIAL);
    measure(&sandbox, "200 lines", &long);
}
