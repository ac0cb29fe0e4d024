//! The delivery loop: take outbox rows, fan them out, deliver what is due;
//! sleep a little when there is nothing to do.

use std::path::Path;
use std::time::Duration;

use tessera_core::logs::delivery;
use tessera_core::usecases::actions;
use tessera_native::{HostView, NativeHost, SqliteDb};

use crate::outbound::HttpOutbound;

/// Outbox rows taken per transaction.
const OUTBOX_BATCH: u32 = 2000;

fn env_ms(name: &str, default: u64) -> Duration {
    Duration::from_millis(std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default))
}

/// Runs the worker on the database at `db_path` with the settings of the
/// environment (MASTER_KEY, TESSERA_*), until `once` finds nothing to do.
pub fn run(db_path: &Path, once: bool) -> Result<(), String> {
    let master = std::env::var("MASTER_KEY")
        .map_err(|_| "MASTER_KEY is not set: the streams' sink secrets cannot be opened".to_string())?;
    let owner = std::env::var("TESSERA_WORKER_ID").unwrap_or_else(|_| {
        let mut r = [0u8; 4];
        let _ = getrandom::getrandom(&mut r);
        format!("worker-{}-{}", std::process::id(), tessera_core::crypto::hex(&r))
    });
    // The settings the core reads as variables: dev mode (plain-HTTP and
    // local sinks), the operator's sink allow-list and the actions host.
    let vars = ["DEV_MODE", "LOG_SINK_HOSTS", "ACTIONS_URL"]
        .into_iter()
        .filter_map(|n| std::env::var(n).ok().map(|v| (n.to_string(), v)))
        .collect();
    let worker = Worker {
        db_path,
        master_key: &master,
        previous_master_key: std::env::var("MASTER_KEY_PREVIOUS").ok(),
        actions_secret: std::env::var("ACTIONS_SECRET").ok(),
        vars,
        owner,
        poll: env_ms("TESSERA_POLL_MS", 200),
        timeout: env_ms("TESSERA_SINK_TIMEOUT_MS", 10_000),
        quiet: false,
    };
    worker.run(|| !once, once)
}

/// One delivery worker's settings.
pub struct Worker<'a> {
    pub db_path: &'a Path,
    pub master_key: &'a str,
    pub previous_master_key: Option<String>,
    /// The secret shared with the actions host, for post-user-registration
    /// (with `ACTIONS_URL` among `vars`).
    pub actions_secret: Option<String>,
    /// Configuration variables (`DEV_MODE`, `LOG_SINK_HOSTS`, `ACTIONS_URL`).
    pub vars: Vec<(String, String)>,
    pub owner: String,
    pub poll: Duration,
    pub timeout: Duration,
    /// No line per round (benchmarks).
    pub quiet: bool,
}

impl Worker<'_> {
    /// Delivers until `keep_going` says stop (checked when idle), or, with
    /// `stop_when_idle`, until a round finds nothing to do.
    pub fn run(&self, keep_going: impl Fn() -> bool, stop_when_idle: bool) -> Result<(), String> {
        let db = SqliteDb::open(self.db_path)?;
        let host = NativeHost::with_outbound(db, HttpOutbound::new(self.timeout));
        host.set_secret("MASTER_KEY", self.master_key);
        if let Some(p) = &self.previous_master_key {
            host.set_secret("MASTER_KEY_PREVIOUS", p);
        }
        if let Some(s) = &self.actions_secret {
            host.set_secret("ACTIONS_SECRET", s);
        }
        for (name, value) in &self.vars {
            host.set_var(name, value);
        }
        if !self.quiet {
            eprintln!("tessera-actions-host: delivering log streams from {} as {}", self.db_path.display(), self.owner);
        }
        self.rounds(&host, keep_going, stop_when_idle)
    }

    fn rounds(
        &self,
        host: &NativeHost<HttpOutbound>,
        keep_going: impl Fn() -> bool,
        stop_when_idle: bool,
    ) -> Result<(), String> {
        let (owner, poll, once) = (&self.owner, self.poll, stop_when_idle);
        let view = HostView::new(host);
        loop {
            let taken =
                pollster::block_on(delivery::drain_outbox(&view, OUTBOX_BATCH)).map_err(|e| format!("{e:?}"))?;
            // Signups among them start post-user-registration. The events are
            // already taken, so a failure here is reported, not retried (the
            // trigger is at most once, as on Auth0).
            if !taken.is_empty() {
                if let Err(e) = pollster::block_on(actions::after_events(&view, &taken)) {
                    eprintln!("tessera-actions-host: post-user-registration failed: {e:?}");
                }
            }
            let taken = taken.len();
            let report = match pollster::block_on(delivery::deliver_due(&view, owner)) {
                Ok(r) => r,
                Err(e) => {
                    // A database hiccup (a lock held too long) is retried on the
                    // next round; the leases keep the work safe.
                    eprintln!("tessera-actions-host: delivery round failed: {e:?}");
                    delivery::Report::default()
                }
            };
            if report.batches > 0 && !self.quiet {
                eprintln!(
                    "tessera-actions-host: {} batches, {} events delivered, {} failed, {} dead-lettered",
                    report.batches, report.delivered, report.failed, report.dead_lettered
                );
            }
            if taken == 0 && report.batches == 0 {
                if once || !keep_going() {
                    return Ok(());
                }
                std::thread::sleep(poll);
            }
        }
    }
}
