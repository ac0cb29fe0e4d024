//! Runs actions in Wasmtime: one engine with the pooling allocator, a fresh
//! instance per run, fuel and an epoch deadline for CPU, a memory cap, and
//! nothing ambient (the JavaScript runner imports only a clock the host
//! stops at the event's time; components get a WASI with no files, network
//! or environment).
//!
//! - [`js`]: the QuickJS runner, pre-initialised with Wizer ([`preinit`]).
//! - [`component`]: tenant components of the `tessera:actions` world,
//!   compiled once per content hash.

pub mod component;
pub mod js;
pub mod memo;
pub mod preinit;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tessera_core::actions::protocol::{
    ActionCode, ErrorKind, LogLine, RunError, RunRequest, RunResponse, RunResult, Runtime,
};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Trap};

use crate::config::Limits;

/// How often the epoch ticks; a run's deadline is counted in ticks.
const TICK: Duration = Duration::from_millis(5);
/// Memory a pool slot keeps mapped between runs (a run of the JavaScript
/// runner touches 1-3 MiB); at most this times the slots stays resident.
const KEEP_RESIDENT: usize = 8 << 20;
/// The largest outcome a run may hand back (decisions and logs, as JSON).
pub const MAX_OUTPUT_BYTES: usize = 1 << 20;

pub struct Sandbox {
    engine: Engine,
    limits: Limits,
    js: js::JsRunner,
    components: component::Components,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

/// The engine every run shares.
pub fn engine(limits: &Limits, concurrency: u32) -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.consume_fuel(true);
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    // The pooling allocator keeps instance slots (and copy-on-write memory
    // images of the pre-initialised runner) ready, so instantiation is a few
    // microseconds. Sized for the runs allowed in flight.
    let mut pool = PoolingAllocationConfig::default();
    let slots = concurrency.max(1) * 2;
    pool.total_memories(slots)
        .total_tables(slots * 2)
        .total_core_instances(slots * 2)
        .total_component_instances(slots)
        .max_memory_size(limits.memory_bytes)
        .max_memories_per_module(1)
        .max_memories_per_component(4);
    // A slot keeps up to KEEP_RESIDENT of its memory mapped between runs,
    // and Linux's PAGEMAP_SCAN (6.7 and later; plain `madvise` elsewhere)
    // finds the pages a run wrote so only those are put back from the
    // snapshot. Otherwise every run starts with no page of the runner's heap
    // mapped and takes a fault for each it touches: that was half of a
    // trivial action's run (`cargo bench -p tessera-actions-host --bench
    // sandbox`: 0.17 -> 0.08 ms).
    pool.linear_memory_keep_resident(KEEP_RESIDENT).pagemap_scan(wasmtime::Enabled::Auto);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config)
}

impl Sandbox {
    pub fn new(
        limits: Limits,
        concurrency: u32,
        js_runner: &std::path::Path,
        cache_dir: &std::path::Path,
    ) -> Result<Sandbox, String> {
        let engine = engine(&limits, concurrency).map_err(|e| format!("the Wasm engine did not start: {e}"))?;
        std::fs::create_dir_all(cache_dir).map_err(|e| format!("cache folder {}: {e}", cache_dir.display()))?;
        let js = js::JsRunner::load(&engine, js_runner, cache_dir)?;
        let components = component::Components::new(&engine, cache_dir.to_path_buf())
            .map_err(|e| format!("component linker: {e}"))?;
        let stop_ticker = Arc::new(AtomicBool::new(false));
        let (e, stop) = (engine.clone(), stop_ticker.clone());
        std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    e.increment_epoch();
                }
            })
            .map_err(|e| format!("epoch ticker: {e}"))?;
        Ok(Sandbox { engine, limits, js, components, stop_ticker })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Deadline in epoch ticks for the configured timeout (at least one).
    fn deadline_ticks(&self) -> u64 {
        (self.limits.timeout.as_micros() / TICK.as_micros()).max(1) as u64 + 1
    }

    /// Runs the request's actions in order and stops after the first that
    /// denies. A failed run does not stop the others: whether a failure
    /// fails the flow is the edge's call (fail-open or fail-closed).
    pub fn run(&self, req: &RunRequest) -> RunResponse {
        let mut results = Vec::with_capacity(req.actions.len());
        for action in &req.actions {
            let started = Instant::now();
            let outcome = match action.runtime {
                Runtime::Js => self.js.run(self, req, action),
                Runtime::Wasm => self.components.run(self, req, action),
            };
            let duration_us = started.elapsed().as_micros() as u64;
            let result = match outcome {
                Ok(o) => RunResult {
                    action_id: action.action_id.clone(),
                    version: action.version,
                    decisions: o.decisions,
                    logs: o.logs,
                    logs_truncated: o.logs_truncated,
                    error: o.error,
                    duration_us,
                },
                Err(error) => RunResult {
                    action_id: action.action_id.clone(),
                    version: action.version,
                    decisions: Vec::new(),
                    logs: Vec::new(),
                    logs_truncated: false,
                    error: Some(error),
                    duration_us,
                },
            };
            let denied = result.error.is_none()
                && result.decisions.iter().any(|d| d.get("type").and_then(|t| t.as_str()) == Some("deny"));
            results.push(result);
            if denied {
                break;
            }
        }
        RunResponse { results }
    }

    /// Whether a JavaScript source runs from cached bytecode.
    pub fn js_compiled(&self, source: &str) -> bool {
        self.js.is_compiled(source)
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Puts a fresh store's budgets in place.
    fn budget<T>(&self, store: &mut wasmtime::Store<T>) -> wasmtime::Result<()> {
        store.set_fuel(self.limits.fuel)?;
        store.set_epoch_deadline(self.deadline_ticks());
        Ok(())
    }
}

/// What a run handed back, before the host adds the action's name and time.
#[derive(Debug, Default)]
pub struct Outcome {
    pub decisions: Vec<serde_json::Value>,
    pub logs: Vec<LogLine>,
    pub logs_truncated: bool,
    pub error: Option<RunError>,
}

pub fn run_error(kind: ErrorKind, message: impl Into<String>) -> RunError {
    RunError { kind, message: message.into() }
}

/// The memory cap, recording whether a run hit it so the error says so.
#[derive(Debug)]
pub struct Limiter {
    memory_bytes: usize,
    pub hit: bool,
}

impl Limiter {
    pub fn new(limits: &Limits) -> Limiter {
        Limiter { memory_bytes: limits.memory_bytes, hit: false }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.hit = true;
            // A trap rather than a failed grow: code that ignores a failed
            // allocation must not carry on.
            wasmtime::bail!("the run exceeded its memory cap of {} MiB", self.memory_bytes >> 20);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > 100_000 {
            self.hit = true;
            wasmtime::bail!("the run exceeded its table cap");
        }
        Ok(true)
    }
}

/// Turns a Wasmtime error from a run into what the execution record says.
pub fn classify(e: &wasmtime::Error, memory_hit: bool, limits: &Limits) -> RunError {
    if memory_hit {
        return run_error(
            ErrorKind::Memory,
            format!("the run exceeded its memory cap of {} MiB", limits.memory_bytes >> 20),
        );
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => run_error(ErrorKind::Timeout, "the run used up its CPU budget"),
        Some(Trap::Interrupt) => {
            run_error(ErrorKind::Timeout, format!("the run exceeded its {} ms deadline", limits.timeout.as_millis()))
        }
        Some(Trap::StackOverflow) => run_error(ErrorKind::Trap, "the run overflowed its stack"),
        Some(trap) => run_error(ErrorKind::Trap, format!("the run trapped: {trap}")),
        None => run_error(ErrorKind::Trap, format!("the run failed: {}", first_line(&format!("{e:#}")))),
    }
}

fn first_line(s: &str) -> &str {
    let line = s.lines().next().unwrap_or(s);
    match line.char_indices().nth(500) {
        Some((i, _)) => &line[..i],
        None => line,
    }
}

/// Part of every cached artifact's name: an artifact compiled by another
/// Wasmtime version or configuration is never looked up.
pub fn compatibility(engine: &Engine) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    h.finish()
}

/// Hex SHA-256, the content hash actions are cached under.
pub fn content_hash(bytes: &[u8]) -> String {
    tessera_core::crypto::hex(&tessera_core::crypto::sha256(bytes))
}

/// Console output kept for the execution record, bounded.
#[derive(Debug)]
pub struct Logs {
    pub lines: Vec<LogLine>,
    pub truncated: bool,
    left: usize,
}

impl Logs {
    pub fn new(limit: usize) -> Logs {
        Logs { lines: Vec::new(), truncated: false, left: limit }
    }

    pub fn push(&mut self, level: &str, message: &str) {
        if self.truncated {
            return;
        }
        let mut message = message;
        if message.len() > self.left {
            let mut end = self.left;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message = &message[..end];
            self.truncated = true;
        }
        self.left -= message.len();
        let level = match level {
            "log" | "info" | "warn" | "error" | "debug" => level,
            _ => "log",
        };
        self.lines.push(LogLine { level: level.into(), message: message.into() });
    }
}

/// The event as an action sees it: the request's event with the action's
/// secrets under `secrets`.
pub fn event_with_secrets(event: &serde_json::Value, action: &ActionCode) -> serde_json::Value {
    let mut event = event.clone();
    if let Some(obj) = event.as_object_mut() {
        obj.insert("secrets".into(), serde_json::to_value(&action.secrets).unwrap_or_default());
    }
    event
}
