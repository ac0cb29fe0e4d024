//! The actions host binary.
//!
//! - `tessera-actions-host serve` runs tenants' actions behind the signed
//!   `POST /v1/run` endpoint (settings from the environment, see `usage`).
//! - `tessera-actions-host deliver --db <sqlite file>` drains the outbox that
//!   the Spin component (and local native runs) write audit events to, fans
//!   them out to the tenants' streams and delivers them, sharing the work
//!   with any other worker on the same database through per-stream leases.
//!   Signups among the events start the tenants' post-user-registration
//!   actions (through `ACTIONS_URL`, which may be this binary's `serve`).

use tessera_actions_host::{config::Config, deliver, sandbox::Sandbox, server};

fn usage() -> ! {
    eprintln!(
        "usage: tessera-actions-host serve\n\
         \x20      tessera-actions-host deliver --db <sqlite file> [--once]\n\
         \n\
         serve's environment:\n\
         \x20 ACTIONS_SECRET             the secret the edge signs requests with (required, 32+ characters)\n\
         \x20 TESSERA_ACTIONS_ADDR       where to listen (default 127.0.0.1:8788)\n\
         \x20 TESSERA_ACTION_TIMEOUT_MS  a run's wall-clock budget (default 1000)\n\
         \x20 TESSERA_ACTION_FUEL        a run's CPU budget in fuel units (default 2000000000)\n\
         \x20 TESSERA_ACTION_MEMORY_MB   a run's memory cap (default 64)\n\
         \x20 TESSERA_ACTIONS_CONCURRENCY runs in flight at once (default 64)\n\
         \x20 TESSERA_JS_RUNNER          the JavaScript runner module (default: beside the binary, else target/)\n\
         \x20 TESSERA_ACTIONS_CACHE      where compiled modules are kept (default: the temp folder)\n\
         \n\
         deliver's environment:\n\
         \x20 MASTER_KEY                 the deployment's master key (opens the streams' sink secrets)\n\
         \x20 MASTER_KEY_PREVIOUS        the previous master key during a rotation (optional)\n\
         \x20 LOG_SINK_HOSTS             the only sink hosts allowed, comma-separated (optional)\n\
         \x20 DEV_MODE                   true: plain-HTTP and local sinks are allowed (never in production)\n\
         \x20 TESSERA_WORKER_ID          this worker's name in stream leases (default: host-pid)\n\
         \x20 TESSERA_POLL_MS            how often an idle worker looks for events (default 200)\n\
         \x20 TESSERA_SINK_TIMEOUT_MS    a sink request's deadline (default 10000)\n\
         \x20 ACTIONS_URL, ACTIONS_SECRET the actions host, for post-user-registration (optional)"
    );
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => {
            if let Err(e) = serve() {
                eprintln!("tessera-actions-host: {e}");
                std::process::exit(1);
            }
        }
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

fn serve() -> Result<(), String> {
    let config = Config::from_env()?;
    let started = std::time::Instant::now();
    let sandbox = Sandbox::new(config.limits, config.concurrency, &config.js_runner, &config.cache_dir)?;
    let listener =
        std::net::TcpListener::bind(config.addr).map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
    eprintln!(
        "tessera-actions-host: serving actions on http://{} (ready in {} ms)",
        listener.local_addr().map_err(|e| e.to_string())?,
        started.elapsed().as_millis()
    );
    server::serve(server::Server::new(std::sync::Arc::new(sandbox), config.secret, config.concurrency), listener)
        .map_err(|e| e.to_string())
}
