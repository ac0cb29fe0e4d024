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

use rquickjs::{qjs, Context, Ctx, Function, Runtime, Value};

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

fn packed(out: Vec<u8>) -> u64 {
    let out = out.leak();
    ((out.as_ptr() as u64) << 32) | out.len() as u64
}

/// Compiles an action's source to QuickJS bytecode, so later runs skip
/// parsing it. Returns `(ptr << 32) | len` of `1` and the bytecode, or of
/// `0` and why it does not compile.
///
/// # Safety
/// `ptr` must come from `tessera_alloc(len)` with `len` bytes written.
#[no_mangle]
pub unsafe extern "C" fn tessera_compile(ptr: *mut u8, len: u32) -> u64 {
    let bytes = Vec::from_raw_parts(ptr, len as usize, len as usize);
    let compiled = match String::from_utf8(bytes) {
        Ok(source) => engine().and_then(|e| e.ctx.with(|ctx| compile(&ctx, &source))),
        Err(_) => Err("the source is not UTF-8".into()),
    };
    packed(match compiled {
        Ok(mut code) => {
            code.insert(0, 1);
            code
        }
        Err(message) => {
            let mut out = vec![0];
            out.extend_from_slice(message.as_bytes());
            out
        }
    })
}

/// The text the `Function` constructor would build for
/// `Function('exports', 'module', source)`: compiling it as sloppy global
/// code gives the same function the prelude's uncached path makes.
fn factory_text(source: &str) -> String {
    format!("(function anonymous(exports,module\n) {{\n{source}\n}})")
}

fn compile(ctx: &Ctx<'_>, source: &str) -> Result<Vec<u8>, String> {
    let text = std::ffi::CString::new(factory_text(source)).map_err(|_| "the source holds a NUL character")?;
    let raw = ctx.as_raw().as_ptr();
    // SAFETY: `text` is NUL-terminated as JS_Eval requires; the returned value
    // is owned and handed to `Value`, which frees it; the written buffer is
    // copied out and freed with the context's allocator.
    unsafe {
        let flags = (qjs::JS_EVAL_TYPE_GLOBAL | qjs::JS_EVAL_FLAG_COMPILE_ONLY) as i32;
        let function = qjs::JS_Eval(raw, text.as_ptr(), text.as_bytes().len() as _, c"action.js".as_ptr(), flags);
        let function = Value::from_raw(ctx.clone(), function);
        if function.is_exception() {
            let e = ctx.catch();
            let message = e
                .as_object()
                .and_then(|o| {
                    Some(format!("{}: {}", o.get::<_, String>("name").ok()?, o.get::<_, String>("message").ok()?))
                })
                .unwrap_or_else(|| "the source does not compile".into());
            return Err(message);
        }
        let mut size = 0;
        let buf = qjs::JS_WriteObject(raw, &mut size, function.as_raw(), qjs::JS_WRITE_OBJ_BYTECODE as i32);
        if buf.is_null() {
            let _ = ctx.catch();
            return Err("the compiled action could not be written out".into());
        }
        let code = std::slice::from_raw_parts(buf, size as usize).to_vec();
        qjs::js_free(raw, buf.cast());
        Ok(code)
    }
}

/// The `(exports, module)` factory from bytecode [`compile`] wrote. Nothing
/// of the tenant's code runs here: evaluating the script only creates the
/// function.
///
/// # Safety
/// `code` must come from [`compile`] in this same runner build: QuickJS does
/// not check bytecode it reads. The host only ever passes what this module's
/// `tessera_compile` returned to it.
unsafe fn load<'js>(ctx: &Ctx<'js>, code: &[u8]) -> Option<Function<'js>> {
    let raw = ctx.as_raw().as_ptr();
    let object = qjs::JS_ReadObject(raw, code.as_ptr(), code.len() as _, qjs::JS_READ_OBJ_BYTECODE as i32);
    if qjs::JS_IsException(object) {
        let _ = ctx.catch();
        return None;
    }
    let function = Value::from_raw(ctx.clone(), qjs::JS_EvalFunction(raw, object));
    if function.is_exception() {
        let _ = ctx.catch();
        return None;
    }
    function.into_function()
}

/// Runs one action; returns `(ptr << 32) | len` of the outcome's JSON.
/// `code_len` > 0: the action's bytecode from `tessera_compile` is at
/// `code_ptr`, and the source in the input is not parsed again.
///
/// # Safety
/// `ptr` must come from `tessera_alloc(len)` with `len` bytes written, and
/// the same for `code_ptr` and `code_len` when `code_len` is not 0.
#[no_mangle]
pub unsafe extern "C" fn tessera_run(ptr: *mut u8, len: u32, code_ptr: *mut u8, code_len: u32) -> u64 {
    let bytes = Vec::from_raw_parts(ptr, len as usize, len as usize);
    let code = (code_len > 0).then(|| Vec::from_raw_parts(code_ptr, code_len as usize, code_len as usize));
    let out = match String::from_utf8(bytes) {
        Ok(input) => run(&input, code.as_deref()),
        Err(_) => failure("the run's input is not UTF-8"),
    };
    packed(out.into_bytes())
}

fn run(input: &str, code: Option<&[u8]>) -> String {
    let engine = match engine() {
        Ok(e) => e,
        Err(e) => return failure(&format!("the JavaScript engine did not start: {e}")),
    };
    let started = engine.ctx.with(|ctx| {
        let start: Function = ctx.globals().get("__tessera_start")?;
        // SAFETY: the host passes only bytecode this module compiled.
        let factory = code.and_then(|c| unsafe { load(&ctx, c) });
        start.call::<_, ()>((input, factory))
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
