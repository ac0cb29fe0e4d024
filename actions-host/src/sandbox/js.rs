//! JavaScript actions: the tenant's source runs in the QuickJS runner
//! (`actions-host/js-runner`), a core Wasm module whose only import is the
//! clock. The runner is pre-initialised once (Wizer), compiled once, and the
//! compiled artifact is kept on disk by content hash, so neither a run nor a
//! restart rebuilds the JavaScript context or recompiles anything.
//!
//! An action's source is parsed once too: the runner compiles it to QuickJS
//! bytecode in an instance of its own, the host keeps the bytes in memory by
//! the source's hash, and later runs load the bytecode instead of parsing.
//! Bytecode is only ever what the runner itself wrote; QuickJS does not check
//! what it reads, so none ever comes from outside.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use tessera_core::actions::protocol::{ActionCode, ErrorKind, LogLine, RunError, RunRequest};
use wasmtime::{Engine, InstancePre, Linker, Module, Store};

use super::memo::Memo;
use super::{classify, compatibility, content_hash, preinit, run_error, Limiter, Outcome, Sandbox, MAX_OUTPUT_BYTES};

/// Bumped when what is cached under a runner's hash changes meaning.
const CACHE_FORMAT: u32 = 1;

/// Compiled actions kept in memory (bytecode is a few KB per action).
const BYTECODE_CACHE: usize = 1024;

pub struct JsRunner {
    pre: InstancePre<RunState>,
    /// The source's SHA-256 -> its bytecode, or why it does not compile.
    bytecode: Memo<Arc<Result<Vec<u8>, String>>>,
}

pub struct RunState {
    limiter: Limiter,
    /// `Date.now()` in the run: the event's time, stopped.
    now_us: f64,
}

fn linker(engine: &Engine) -> wasmtime::Result<Linker<RunState>> {
    let mut linker = Linker::new(engine);
    linker.func_wrap("env", "__rquickjs_host_now_us", |caller: wasmtime::Caller<'_, RunState>| caller.data().now_us)?;
    Ok(linker)
}

/// The runner's outcome as `prelude.js` writes it.
#[derive(Deserialize)]
struct RunnerOutput {
    ok: bool,
    #[serde(default)]
    decisions: Vec<serde_json::Value>,
    #[serde(default)]
    logs: Vec<LogLine>,
    #[serde(default)]
    logs_truncated: bool,
    #[serde(default)]
    error: Option<String>,
}

impl JsRunner {
    pub fn load(engine: &Engine, path: &Path, cache_dir: &Path) -> Result<JsRunner, String> {
        let wasm = std::fs::read(path).map_err(|e| {
            format!(
                "the JavaScript runner {} cannot be read ({e}); build it with scripts/build-js-runner.sh",
                path.display()
            )
        })?;
        let linker = linker(engine).map_err(|e| e.to_string())?;
        let compat = compatibility(engine);
        let cached =
            cache_dir.join(format!("js-runner-{CACHE_FORMAT}-{}-{compat:016x}.cwasm", &content_hash(&wasm)[..16]));
        // SAFETY: the file is one this host wrote (below) for an engine with
        // the same compatibility hash; a torn write is refused by wasmtime's
        // header check and then rebuilt.
        let module = match unsafe { Module::deserialize_file(engine, &cached) } {
            Ok(m) => m,
            Err(_) => {
                let data = RunState { limiter: Limiter { memory_bytes: usize::MAX, hit: false }, now_us: 0.0 };
                let snapshot = preinit::preinitialise(engine, &linker, data, &wasm, "wizer.initialize")
                    .map_err(|e| format!("pre-initialising the JavaScript runner failed: {e:#}"))?;
                let module = Module::new(engine, &snapshot)
                    .map_err(|e| format!("compiling the JavaScript runner failed: {e:#}"))?;
                if let Ok(bytes) = module.serialize() {
                    let tmp = cached.with_extension(format!("tmp{}", std::process::id()));
                    if std::fs::write(&tmp, bytes).is_ok() {
                        let _ = std::fs::rename(&tmp, &cached);
                    }
                }
                module
            }
        };
        let pre = linker.instantiate_pre(&module).map_err(|e| format!("the JavaScript runner does not link: {e}"))?;
        Ok(JsRunner { pre, bytecode: Memo::new(BYTECODE_CACHE) })
    }

    /// Whether this source's bytecode is cached (tests, diagnostics).
    pub fn is_compiled(&self, source: &str) -> bool {
        self.bytecode.get(&content_hash(source.as_bytes())).is_some_and(|c| c.is_ok())
    }

    /// The action's bytecode: from memory, or compiled now in an instance
    /// of its own (under the same budgets as a run). `None` when it does not
    /// compile: the run then parses the source and reports the error as the
    /// action's.
    fn bytecode(&self, sandbox: &Sandbox, source: &str) -> Option<Arc<Result<Vec<u8>, String>>> {
        let key = content_hash(source.as_bytes());
        if let Some(code) = self.bytecode.get(&key) {
            return Some(code);
        }
        let limits = sandbox.limits();
        let mut store = Store::new(sandbox.engine(), RunState { limiter: Limiter::new(limits), now_us: 0.0 });
        store.limiter(|s| &mut s.limiter);
        let out = sandbox
            .budget(&mut store)
            .and_then(|()| call(&self.pre, &mut store, Entry::Compile, source.as_bytes()))
            .ok()?;
        let compiled = match out.split_first() {
            Some((1, code)) => Ok(code.to_vec()),
            Some((_, message)) => Err(String::from_utf8_lossy(message).into_owned()),
            None => return None,
        };
        let compiled = Arc::new(compiled);
        self.bytecode.insert(key, compiled.clone());
        Some(compiled)
    }

    pub fn run(&self, sandbox: &Sandbox, req: &RunRequest, action: &ActionCode) -> Result<Outcome, RunError> {
        // The edge sends an action by hash first; its source only when this
        // host answered `unknown_module` (a restart, another replica, or a
        // source that does not compile, whose error the run then reports).
        let compiled = match &action.code {
            Some(source) => self.bytecode(sandbox, source),
            None => match self.bytecode.get(&action.hash.to_ascii_lowercase()) {
                Some(c) if c.is_ok() => Some(c),
                _ => {
                    return Err(run_error(
                        ErrorKind::UnknownModule,
                        format!("action {} is not compiled here; send its code", action.hash),
                    ))
                }
            },
        };
        let code = compiled.as_deref().and_then(|c| c.as_ref().ok()).map(Vec::as_slice);
        // The prelude puts `secrets` on the event (no copy of it here). The
        // source goes in only when there is no bytecode to run instead: the
        // runner would parse it as JSON for nothing.
        let input = serde_json::json!({
            "source": if code.is_some() { "" } else { action.code.as_deref().unwrap_or_default() },
            "trigger": req.trigger,
            "event": req.event,
            "secrets": action.secrets,
        })
        .to_string();
        let limits = sandbox.limits();
        let mut store = Store::new(
            sandbox.engine(),
            RunState { limiter: Limiter::new(limits), now_us: req.now_ms as f64 * 1000.0 },
        );
        store.limiter(|s| &mut s.limiter);
        let output = sandbox
            .budget(&mut store)
            .and_then(|()| call(&self.pre, &mut store, Entry::Run { bytecode: code }, input.as_bytes()));
        let output = match output {
            Ok(o) => o,
            Err(e) => return Err(classify(&e, store.data().limiter.hit, limits)),
        };
        let out: RunnerOutput = serde_json::from_slice(&output)
            .map_err(|_| run_error(ErrorKind::Exception, "the runner's outcome is not valid JSON"))?;
        let error = match (out.ok, out.error) {
            (true, _) => None,
            (false, message) => {
                let message = message.unwrap_or_else(|| "the action failed".into());
                let kind = if message.contains("out of memory") { ErrorKind::Memory } else { ErrorKind::Exception };
                Some(run_error(kind, message))
            }
        };
        Ok(Outcome { decisions: out.decisions, logs: out.logs, logs_truncated: out.logs_truncated, error })
    }
}

/// Which of the runner's exports a call enters.
enum Entry<'a> {
    /// `tessera_compile(source)`: the source's bytecode.
    Compile,
    /// `tessera_run(input, bytecode)`: the action run on the event, from
    /// its bytecode when there is one, else from the source in the input.
    Run { bytecode: Option<&'a [u8]> },
}

/// Copies the input (and for a run, the bytecode) in, calls the `entry`
/// export in a fresh instance, and copies the outcome out.
fn call(
    pre: &InstancePre<RunState>,
    store: &mut Store<RunState>,
    entry: Entry<'_>,
    input: &[u8],
) -> wasmtime::Result<Vec<u8>> {
    let instance = pre.instantiate(&mut *store)?;
    let memory = instance
        .get_memory(&mut *store, "memory")
        .ok_or_else(|| wasmtime::format_err!("the runner exports no memory"))?;
    let alloc = instance.get_typed_func::<u32, u32>(&mut *store, "tessera_alloc")?;
    let copy_in = |store: &mut Store<RunState>, bytes: &[u8]| -> wasmtime::Result<(u32, u32)> {
        let len = u32::try_from(bytes.len()).map_err(|_| wasmtime::format_err!("the run's input is too large"))?;
        let ptr = alloc.call(&mut *store, len)?;
        memory.write(&mut *store, ptr as usize, bytes)?;
        Ok((ptr, len))
    };
    let (ptr, len) = copy_in(store, input)?;
    let packed = match entry {
        Entry::Compile => {
            let compile = instance.get_typed_func::<(u32, u32), u64>(&mut *store, "tessera_compile")?;
            compile.call(&mut *store, (ptr, len))?
        }
        Entry::Run { bytecode } => {
            let (code_ptr, code_len) = match bytecode {
                Some(c) if !c.is_empty() => copy_in(store, c)?,
                _ => (0, 0),
            };
            let run = instance.get_typed_func::<(u32, u32, u32, u32), u64>(&mut *store, "tessera_run")?;
            run.call(&mut *store, (ptr, len, code_ptr, code_len))?
        }
    };
    let (ptr, len) = ((packed >> 32) as usize, (packed & 0xffff_ffff) as usize);
    if len > MAX_OUTPUT_BYTES {
        wasmtime::bail!("the action's outcome is larger than {} KiB", MAX_OUTPUT_BYTES >> 10);
    }
    let mut out = vec![0; len];
    memory.read(&*store, ptr, &mut out)?;
    Ok(out)
}
