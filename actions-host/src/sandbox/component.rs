//! WebAssembly component actions: a tenant uploads a component of the
//! `tessera:actions/action` world (`actions-host/wit/action.wit`). It is
//! compiled once per content hash (kept in memory and on disk) and linked
//! against what actions are offered: `log`, and a WASI with no preopened
//! files, no sockets, no environment, and clocks stopped at the event's time.
//! A component importing anything else does not link, and says so.

use std::path::PathBuf;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use tessera_core::actions::protocol::{ActionCode, ErrorKind, RunError, RunRequest, MAX_COMPONENT_BYTES};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::memo::Memo;
use super::{classify, compatibility, content_hash, event_with_secrets, run_error, Limiter, Logs, Outcome, Sandbox};

wasmtime::component::bindgen!({ path: "wit", world: "action" });

/// Compiled components kept in memory; beyond this, the oldest goes.
const MEMORY_CACHE: usize = 256;

pub struct CompState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    logs: Logs,
}

impl WasiView for CompState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl ActionImports for CompState {
    fn log(&mut self, level: String, message: String) {
        self.logs.push(&level, &message);
    }
}

impl tessera::actions::types::Host for CompState {}

/// A clock that stands still at the event's time.
struct Stopped(Duration);

impl HostWallClock for Stopped {
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }
    fn now(&self) -> Duration {
        self.0
    }
}

impl HostMonotonicClock for Stopped {
    fn resolution(&self) -> u64 {
        1_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

pub struct Components {
    engine: Engine,
    linker: Linker<CompState>,
    compiled: Memo<ActionPre<CompState>>,
    cache_dir: PathBuf,
    compat: u64,
}

impl Components {
    pub fn new(engine: &Engine, cache_dir: PathBuf) -> wasmtime::Result<Components> {
        let mut linker = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        Action::add_to_linker::<CompState, HasSelf<CompState>>(&mut linker, |s| s)?;
        let compat = compatibility(engine);
        Ok(Components { engine: engine.clone(), linker, compiled: Memo::new(MEMORY_CACHE), cache_dir, compat })
    }

    fn disk_path(&self, hash: &str) -> PathBuf {
        self.cache_dir.join(format!("component-{hash}-{:016x}.cwasm", self.compat))
    }

    /// The pre-linked component for an action: from memory, from disk, or
    /// compiled from the code the request carries.
    fn prepare(&self, action: &ActionCode) -> Result<ActionPre<CompState>, RunError> {
        let hash = action.hash.to_ascii_lowercase();
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(run_error(ErrorKind::Invalid, "a component's hash must be 64 hex digits"));
        }
        if let Some(pre) = self.compiled.get(&hash) {
            return Ok(pre);
        }
        let path = self.disk_path(&hash);
        // SAFETY: only this host writes that folder, under names that carry
        // the engine's compatibility hash; wasmtime checks the header.
        let component = match unsafe { Component::deserialize_file(&self.engine, &path) } {
            Ok(c) => c,
            Err(_) => {
                let Some(code) = &action.code else {
                    return Err(run_error(
                        ErrorKind::UnknownModule,
                        format!("component {hash} is not compiled here; send its code"),
                    ));
                };
                let bytes = STANDARD
                    .decode(code)
                    .map_err(|_| run_error(ErrorKind::Invalid, "the component's code is not base64"))?;
                if bytes.len() > MAX_COMPONENT_BYTES {
                    return Err(run_error(ErrorKind::Invalid, "the component is too large"));
                }
                if content_hash(&bytes) != hash {
                    return Err(run_error(ErrorKind::Invalid, "the component's code does not match its hash"));
                }
                let component = Component::new(&self.engine, &bytes).map_err(|e| {
                    run_error(ErrorKind::Invalid, format!("not a loadable WebAssembly component: {}", root(&e)))
                })?;
                if let Ok(serialized) = component.serialize() {
                    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
                    if std::fs::write(&tmp, serialized).is_ok() {
                        let _ = std::fs::rename(&tmp, &path);
                    }
                }
                component
            }
        };
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| run_error(ErrorKind::Invalid, format!("the component does not link: {}", root(&e))))?;
        let pre = ActionPre::new(pre).map_err(|e| {
            run_error(ErrorKind::Invalid, format!("the component is not a tessera:actions/action: {}", root(&e)))
        })?;
        self.compiled.insert(hash, pre.clone());
        Ok(pre)
    }

    pub fn run(&self, sandbox: &Sandbox, req: &RunRequest, action: &ActionCode) -> Result<Outcome, RunError> {
        let pre = self.prepare(action)?;
        let limits = sandbox.limits();
        let now = Duration::from_millis(req.now_ms.max(0) as u64);
        let wasi = WasiCtxBuilder::new()
            .wall_clock(Stopped(now))
            .monotonic_clock(Stopped(now))
            .allow_ip_name_lookup(false)
            .allow_tcp(false)
            .allow_udp(false)
            .build();
        let mut store = Store::new(
            &self.engine,
            CompState {
                wasi,
                table: ResourceTable::new(),
                limiter: Limiter::new(limits),
                logs: Logs::new(limits.log_bytes),
            },
        );
        store.limiter(|s| &mut s.limiter);
        let event = event_with_secrets(&req.event, action).to_string();
        let result = sandbox.budget(&mut store).and_then(|()| {
            let instance = pre.instantiate(&mut store)?;
            instance.call_on_execute(&mut store, req.trigger.as_str(), &event)
        });
        let state = store.into_data();
        let mut outcome =
            Outcome { logs: state.logs.lines, logs_truncated: state.logs.truncated, ..Outcome::default() };
        match result {
            Ok(Ok(decisions)) => outcome.decisions = decisions.into_iter().map(to_json).collect(),
            Ok(Err(message)) => outcome.error = Some(run_error(ErrorKind::Exception, truncate(message, 2048))),
            Err(e) => outcome.error = Some(classify(&e, state.limiter.hit, limits)),
        }
        Ok(outcome)
    }
}

fn root(e: &wasmtime::Error) -> String {
    truncate(format!("{e:#}"), 1000)
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// A component's value is JSON text; anything else is kept as a string so
/// the edge's checks (and the execution record) see what was sent.
fn json(text: String) -> serde_json::Value {
    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
}

/// The same decision shape a JavaScript action produces.
fn to_json(d: Decision) -> serde_json::Value {
    use serde_json::json;
    match d {
        Decision::Deny(x) => {
            json!({"type": "deny", "reason": x.reason, "user_message": x.user_message, "code": x.code})
        }
        Decision::SetIdTokenClaim(e) => {
            json!({"type": "set_claim", "token": "id_token", "name": e.name, "value": json(e.value_json)})
        }
        Decision::SetAccessTokenClaim(e) => {
            json!({"type": "set_claim", "token": "access_token", "name": e.name, "value": json(e.value_json)})
        }
        Decision::SetAppMetadata(e) => {
            json!({"type": "set_metadata", "kind": "app", "name": e.name, "value": json(e.value_json)})
        }
        Decision::SetUserMetadata(e) => {
            json!({"type": "set_metadata", "kind": "user", "name": e.name, "value": json(e.value_json)})
        }
        Decision::AddScope(scope) => json!({"type": "add_scope", "scope": scope}),
        Decision::RequireMfa(m) => {
            json!({"type": "require_mfa", "provider": m.provider, "allow_remember_browser": m.allow_remember_browser})
        }
    }
}
