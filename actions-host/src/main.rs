//! The actions host binary. Today it runs the log-stream delivery worker:
//! `tessera-actions-host deliver --db <sqlite file>` drains the outbox that
//! the Spin component (and local native runs) write audit events to, fans
//! them out to the tenants' streams and delivers them, sharing the work
//! with any other worker on the same database through per-stream leases.
//! Running tenant action hooks in Wasmtime comes with the actions issue.

use tessera_actions_host::deliver;

fn usage() -> ! {
    eprintln!(
        "usage: tessera-actions-host deliver --db <sqlite file> [--once]\n\
         \n\
         environment:\n\
         \x20 MASTER_KEY                 the deployment's master key (opens the streams' sink secrets)\n\
         \x20 MASTER_KEY_PREVIOUS        the previous master key during a rotation (optional)\n\
         \x20 LOG_SINK_HOSTS             the only sink hosts allowed, comma-separated (optional)\n\
         \x20 DEV_MODE                   true: plain-HTTP and local sinks are allowed (never in production)\n\
         \x20 TESSERA_WORKER_ID          this worker's name in stream leases (default: host-pid)\n\
         \x20 TESSERA_POLL_MS            how often an idle worker looks for events (default 200)\n\
         \x20 TESSERA_SINK_TIMEOUT_MS    a sink request's deadline (default 10000)"
    );
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("deliver") => {
            let mut db = None;
            let mut once = false;
            let mut it = args[1..].iter();
            while let Some(a) = it.next() {
                match a.as_str() {
                    "--db" => db = it.next().cloned(),
                    "--once" => once = true,
                    _ => usage(),
                }
            }
            let Some(db) = db else { usage() };
            if let Err(e) = deliver::run(std::path::Path::new(&db), once) {
                eprintln!("tessera-actions-host: {e}");
                std::process::exit(1);
            }
        }
        _ => usage(),
    }
}
