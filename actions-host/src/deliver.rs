//! The delivery loop: take outbox rows, fan them out, deliver what is due;
//! sleep a little when there is nothing to do.

use std::path::Path;
use std::time::Duration;

use tessera_core::logs::delivery;
use tessera_native::{HostView, NativeHost, SqliteDb};

use crate::outbound::HttpOutbound;

/// Outbox rows taken per transaction.
const OUTBOX_BATCH: u32 = 2000;

fn env_ms(name: &str, default: u64) -> Duration {
    Duration::from_millis(std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default))
}

pub fn run(db_path: &Path, once: bool) -> Result<(), String> {
    let db = SqliteDb::open(db_path)?;
    let host = NativeHost::with_outbound(db, HttpOutbound::new(env_ms("TESSERA_SINK_TIMEOUT_MS", 10_000)));
    for name in ["MASTER_KEY", "MASTER_KEY_PREVIOUS"] {
        if let Ok(v) = std::env::var(name) {
            host.set_secret(name, &v);
        }
    }
    if std::env::var("MASTER_KEY").is_err() {
        return Err("MASTER_KEY is not set: the streams' sink secrets cannot be opened".into());
    }
    let owner = std::env::var("TESSERA_WORKER_ID").unwrap_or_else(|_| {
        let mut r = [0u8; 4];
        let _ = getrandom::getrandom(&mut r);
        format!("worker-{}-{}", std::process::id(), tessera_core::crypto::hex(&r))
    });
    let poll = env_ms("TESSERA_POLL_MS", 200);
    eprintln!("tessera-actions-host: delivering log streams from {} as {owner}", db_path.display());
    let view = HostView::new(&host);
    loop {
        let taken = pollster::block_on(delivery::drain_outbox(&view, OUTBOX_BATCH)).map_err(|e| format!("{e:?}"))?;
        let report = match pollster::block_on(delivery::deliver_due(&view, &owner)) {
            Ok(r) => r,
            Err(e) => {
                // A database hiccup (a lock held too long) is retried on the
                // next round; the leases keep the work safe.
                eprintln!("tessera-actions-host: delivery round failed: {e:?}");
                delivery::Report::default()
            }
        };
        if report.batches > 0 {
            eprintln!(
                "tessera-actions-host: {} batches, {} events delivered, {} failed, {} dead-lettered",
                report.batches, report.delivered, report.failed, report.dead_lettered
            );
        }
        if taken == 0 && report.batches == 0 {
            if once {
                return Ok(());
            }
            std::thread::sleep(poll);
        }
    }
}
