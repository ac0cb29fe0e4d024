//! The `serve` command's settings, all from environment variables (the
//! README and `usage` in main.rs list them).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tessera_core::actions::signature::MIN_SECRET_LEN;
use tessera_core::types::Secret;

#[derive(Debug)]
pub struct Config {
    pub addr: SocketAddr,
    /// Shared with the edge (`ACTIONS_SECRET` there too); signs every request.
    pub secret: Secret<Vec<u8>>,
    pub limits: Limits,
    /// The JavaScript runner module (`tessera_js_runner.wasm`).
    pub js_runner: PathBuf,
    /// Where compiled artifacts are kept between starts.
    pub cache_dir: PathBuf,
    /// Runs in flight at once; also the size of the instance pool.
    pub concurrency: u32,
}

/// What one run may use.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall-clock budget, enforced by an epoch deadline.
    pub timeout: Duration,
    /// Deterministic CPU budget (Wasm instructions, roughly).
    pub fuel: u64,
    pub memory_bytes: usize,
    /// Console output kept per run.
    pub log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            timeout: Duration::from_millis(1000),
            fuel: 2_000_000_000,
            memory_bytes: 64 << 20,
            log_bytes: 16 << 10,
        }
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match var(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| format!("{name}={v} is not a number")),
    }
}

/// Where the runner is looked for when `TESSERA_JS_RUNNER` is unset: beside
/// the binary (the Docker image), then the workspace's build output.
fn default_runner() -> PathBuf {
    let beside = std::env::current_exe().ok().and_then(|p| p.parent().map(|d| d.join("tessera_js_runner.wasm")));
    match beside {
        Some(p) if p.exists() => p,
        _ => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/wasm32-unknown-unknown/release/tessera_js_runner.wasm"
        )),
    }
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        let secret =
            var("ACTIONS_SECRET").ok_or("ACTIONS_SECRET is not set (the secret the edge signs requests with)")?;
        if secret.len() < MIN_SECRET_LEN {
            return Err(format!("ACTIONS_SECRET must have at least {MIN_SECRET_LEN} characters"));
        }
        let addr = var("TESSERA_ACTIONS_ADDR").unwrap_or_else(|| "127.0.0.1:8788".into());
        let addr = addr.parse().map_err(|_| format!("TESSERA_ACTIONS_ADDR={addr} is not host:port"))?;
        let defaults = Limits::default();
        let limits = Limits {
            timeout: Duration::from_millis(number("TESSERA_ACTION_TIMEOUT_MS", defaults.timeout.as_millis() as u64)?),
            fuel: number("TESSERA_ACTION_FUEL", defaults.fuel)?,
            memory_bytes: number::<usize>("TESSERA_ACTION_MEMORY_MB", defaults.memory_bytes >> 20)? << 20,
            log_bytes: defaults.log_bytes,
        };
        let cache_dir = var("TESSERA_ACTIONS_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("tessera-actions-cache"));
        Ok(Config {
            addr,
            secret: Secret::new(secret.into_bytes()),
            limits,
            js_runner: var("TESSERA_JS_RUNNER").map(PathBuf::from).unwrap_or_else(default_runner),
            cache_dir,
            concurrency: number("TESSERA_ACTIONS_CONCURRENCY", 64)?,
        })
    }
}
