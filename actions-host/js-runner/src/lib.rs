//! The JavaScript runner: the QuickJS engine compiled to a core Wasm module
//! that the actions host instantiates fresh for every run.
//!
//! The host pre-initialises it (Wizer): `wizer.initialize` creates the
//! engine and evaluates `prelude.js`, and the snapshot taken afterwards is
//! what every run starts from, so a run does not rebuild the JavaScript
//! context from nothing.
//!
//! Protocol: the host writes the run's input (JSON: source, trigger, event,
//! secrets) into memory it got from `tessera_alloc`, calls `tessera_run`, and
//! reads back the JSON outcome whose address and length come packed in the
//! returned `u64`. Nothing here outlives the instance.

use rquickjs::{Context, Function, Runtime};

const PRELUDE: &str = include_str!("prelude.js");
/// Below the host's `StoreLimits` cap, so an allocation bomb ends as a
/// JavaScript "out of memory" error rather than a trap.
const JS_MEMORY_LIMIT: usize = 48 << 20;
/// Below the Wasm stack (1 MiB), so deep recursion ends as a RangeError.
const JS_STACK_LIMIT: usize = 512 << 10;

struct Engine {
    rt: Runtime,
    ctx: Context,
}

// The module is single-threaded: one run per instance, no threads in Wasm.
static mut ENGINE: Option<Engine> = None;

#[allow(static_mut_refs)]
fn engine() -> Result<&'static Engine, String> {
    // SAFETY: wasm32 without threads; nothing re-enters this function.
    unsafe {
        if ENGINE.is_none() {
            let rt = Runtime::new().map_err(|e| e.to_string())?;
            rt.set_memory_limit(JS_MEMORY_LIMIT);
            rt.set_max_stack_size(JS_STACK_LIMIT);
            let ctx = Context::full(&rt).map_err(|e| e.to_string())?;
            ctx.with(|ctx| ctx.eval::<(), _>(PRELUDE).map_err(|e| e.to_string()))?;
            ENGINE = Some(Engine { rt, ctx });
        }
        Ok(ENGINE.as_ref().expect("set above"))
    }
}

/// Wizer's initialisation entry point: everything done here is in the
/// snapshot.
#[export_name = "wizer.initialize"]
pub extern "C" fn wizer_initialize() {
    // A failure here leaves the engine unset; the first run then reports it.
    let _ = engine();
}

/// Memory for the host to write a run's input into.
#[no_mangle]
pub extern "C" fn tessera_alloc(len: u32) -> *mut u8 {
    let mut buf = Vec::<u8>::with_capacity(len as usize);
    let ptr = buf.as_mut_ptr();
    std::mem::forget(buf);
    ptr
}

/// Runs one action; returns `(ptr << 32) | len` of the outcome's JSON.
///
/// # Safety
/// `ptr` must come from `tessera_alloc(len)` with `len` bytes written.
#[no_mangle]
pub unsafe extern "C" fn tessera_run(ptr: *mut u8, len: u32) -> u64 {
    let bytes = Vec::from_raw_parts(ptr, len as usize, len as usize);
    let out = match String::from_utf8(bytes) {
        Ok(input) => run(&input),
        Err(_) => failure("the run's input is not UTF-8"),
    };
    let out = out.into_bytes().leak();
    ((out.as_ptr() as u64) << 32) | out.len() as u64
}

fn run(input: &str) -> String {
    let engine = match engine() {
        Ok(e) => e,
        Err(e) => return failure(&format!("the JavaScript engine did not start: {e}")),
    };
    let started = engine.ctx.with(|ctx| {
        let start: Function = ctx.globals().get("__tessera_start")?;
        start.call::<_, ()>((input,))
    });
    if let Err(e) = started {
        return failure(&format!("the run did not start: {e}"));
    }
    // Drive the handler's promise: every job the run queued, and the jobs
    // those queue. There are no timers or I/O, so once the queue is empty
    // nothing can settle the promise any more.
    loop {
        match engine.rt.execute_pending_job() {
            Ok(true) => continue,
            Ok(false) => break,
            // A job that threw: its promise is rejected and the prelude's
            // handlers record that; keep draining.
            Err(_) => continue,
        }
    }
    let result = engine.ctx.with(|ctx| ctx.globals().get::<_, Option<String>>("__tessera_result"));
    match result {
        Ok(Some(out)) => out,
        Ok(None) => failure("the handler's promise never settled"),
        Err(e) => failure(&format!("the run's outcome could not be read: {e}")),
    }
}

/// An outcome for failures outside the prelude (engine errors).
fn failure(message: &str) -> String {
    let mut out = String::from("{\"ok\":false,\"error\":\"");
    for c in message.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push_str("\",\"decisions\":[],\"logs\":[]}");
    out
}
