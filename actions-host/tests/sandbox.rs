//! The sandbox against real tenant code: JavaScript through the QuickJS
//! runner and the example Rust component, hostile code included, and the
//! signed HTTP endpoint in front of it.
//!
//! Needs the runner and the example component built first
//! (`scripts/build-actions.sh`; `scripts/test.sh` does it).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::json;
use tessera_actions_host::config::Limits;
use tessera_actions_host::sandbox::{content_hash, Sandbox};
use tessera_core::actions::decision;
use tessera_core::actions::protocol::{ActionCode, ErrorKind, RunRequest, RunResult, Runtime};
use tessera_core::actions::Trigger;

const EVENT_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn target(path: &str) -> PathBuf {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")).join(path);
    assert!(p.exists(), "{} is missing: run scripts/build-actions.sh first", p.display());
    p
}

fn limits() -> Limits {
    Limits { timeout: Duration::from_millis(500), ..Limits::default() }
}

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let cache = std::env::temp_dir().join("tessera-actions-test-cache");
        Sandbox::new(limits(), 8, &target("wasm32-unknown-unknown/release/tessera_js_runner.wasm"), &cache)
            .expect("sandbox starts")
    })
}

fn js(source: &str) -> ActionCode {
    ActionCode {
        action_id: "act_js".into(),
        version: 1,
        runtime: Runtime::Js,
        hash: content_hash(source.as_bytes()),
        code: Some(source.into()),
        secrets: BTreeMap::from([("API_KEY".to_owned(), "s3cret".to_owned())]),
    }
}

fn component_bytes() -> Vec<u8> {
    std::fs::read(target("wasm32-wasip2/release/tessera_example_action.wasm")).unwrap()
}

fn component(bytes: &[u8], with_code: bool) -> ActionCode {
    use base64::Engine;
    ActionCode {
        action_id: "act_wasm".into(),
        version: 3,
        runtime: Runtime::Wasm,
        hash: content_hash(bytes),
        code: with_code.then(|| base64::engine::general_purpose::STANDARD.encode(bytes)),
        secrets: BTreeMap::from([("GREETING".to_owned(), "hi from a secret".to_owned())]),
    }
}

fn request(trigger: Trigger, actions: Vec<ActionCode>) -> RunRequest {
    RunRequest {
        id: "req_1".into(),
        tenant: "acme".into(),
        trigger,
        now_ms: EVENT_MS,
        event: json!({"user": {"user_id": "usr_1", "email": "ada@example.com"}, "client": {"client_id": "cl_1", "name": "Docs"}}),
        actions,
    }
}

fn run_one(trigger: Trigger, action: ActionCode) -> RunResult {
    let mut r = sandbox().run(&request(trigger, vec![action]));
    assert_eq!(r.results.len(), 1);
    r.results.remove(0)
}

fn post_login(source: &str) -> RunResult {
    run_one(Trigger::PostLogin, js(source))
}

fn error_of(r: &RunResult) -> (ErrorKind, String) {
    let e = r.error.as_ref().unwrap_or_else(|| panic!("expected an error, got {r:?}"));
    (e.kind, e.message.clone())
}

#[test]
fn a_post_login_action_sets_claims_sees_its_event_secrets_and_the_event_time() {
    let r = post_login(
        r#"exports.onExecutePostLogin = async (event, api) => {
             console.log('login by', event.user.email, 'at', new Date(Date.now()).toISOString());
             api.idToken.setCustomClaim('https://example.com/roles', ['admin']);
             api.accessToken.setCustomClaim('https://example.com/key', event.secrets.API_KEY);
             api.user.setAppMetadata('plan', 'pro');
             api.multifactor.enable('any', { allowRememberBrowser: true });
           };"#,
    );
    assert!(r.error.is_none(), "{r:?}");
    assert_eq!(r.logs[0].message, "login by ada@example.com at 2026-01-01T00:00:00.000Z");
    let d = decision::validate(Trigger::PostLogin, &r.decisions).unwrap();
    assert_eq!(d.len(), 4);
    assert_eq!(d[3], decision::Decision::RequireMfa { provider: "any".into(), allow_remember_browser: true });
    assert_eq!(r.decisions[1]["value"], "s3cret");
}

#[test]
fn each_trigger_offers_only_its_own_api() {
    let r = run_one(
        Trigger::CredentialsExchange,
        js("exports.onExecuteCredentialsExchange = async (event, api) => { api.accessToken.setCustomClaim('tier', 'gold'); api.idToken.setCustomClaim('x', 1); };"),
    );
    let (kind, message) = error_of(&r);
    assert_eq!(kind, ErrorKind::Exception);
    assert!(message.contains("TypeError"), "{message}");
    let r = run_one(Trigger::PreLogin, js("exports.onExecutePostLogin = async () => {};"));
    assert!(error_of(&r).1.contains("does not export onExecutePreLogin"));
}

#[test]
fn an_endless_loop_is_stopped_by_the_cpu_budget() {
    let started = Instant::now();
    let r = post_login("exports.onExecutePostLogin = async () => { while (true) {} };");
    assert_eq!(error_of(&r).0, ErrorKind::Timeout, "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_memory_bomb_is_stopped_by_the_memory_cap() {
    let r = post_login("exports.onExecutePostLogin = async () => { const a = []; while (true) a.push(new Array(1e5).fill(a.length)); };");
    assert_eq!(error_of(&r).0, ErrorKind::Memory, "{r:?}");
}

#[test]
fn deep_recursion_ends_as_an_error_not_a_crash() {
    let r = post_login("exports.onExecutePostLogin = async () => { const f = (n) => f(n + 1) + 1; f(0); };");
    let (kind, message) = error_of(&r);
    assert!(matches!(kind, ErrorKind::Exception | ErrorKind::Trap), "{kind:?} {message}");
    assert!(message.contains("stack"), "{message}");
}

#[test]
fn a_huge_console_log_is_cut_to_the_log_budget_and_the_run_goes_on() {
    let r = post_login("exports.onExecutePostLogin = async (e, api) => { console.log('x'.repeat(5e6)); console.log('after'); api.idToken.setCustomClaim('done', true); };");
    assert!(r.error.is_none(), "{r:?}");
    assert!(r.logs_truncated);
    let total: usize = r.logs.iter().map(|l| l.message.len()).sum();
    assert!(total <= 16 * 1024, "{total}");
    assert_eq!(r.decisions.len(), 1);
}

#[test]
fn a_huge_claim_comes_back_but_the_edge_refuses_it() {
    let r = post_login(
        "exports.onExecutePostLogin = async (e, api) => { api.idToken.setCustomClaim('big', 'x'.repeat(100000)); };",
    );
    assert!(r.error.is_none(), "{r:?}");
    assert!(decision::validate(Trigger::PostLogin, &r.decisions).unwrap_err().0.contains("bytes"));
}

#[test]
fn thrown_errors_rejections_and_promises_that_never_settle_are_errors() {
    let cases = [
        ("exports.onExecutePostLogin = async () => { throw new Error('boom'); };", "Error: boom"),
        ("exports.onExecutePostLogin = () => Promise.reject('nope');", "uncaught: nope"),
        ("exports.onExecutePostLogin = () => new Promise(() => {});", "never settled"),
        ("this is not javascript", "SyntaxError"),
    ];
    for (source, expected) in cases {
        let r = post_login(source);
        let (kind, message) = error_of(&r);
        assert_eq!(kind, ErrorKind::Exception, "{source}");
        assert!(message.contains(expected), "{source}: {message}");
        assert!(r.decisions.is_empty());
    }
}

#[test]
fn there_is_no_process_require_fetch_or_file_system() {
    let r = post_login(
        "exports.onExecutePostLogin = async () => { console.log([typeof process, typeof require, typeof fetch, typeof std, typeof os, typeof XMLHttpRequest, typeof WebAssembly].join(',')); };",
    );
    assert!(r.error.is_none(), "{r:?}");
    assert_eq!(r.logs[0].message, "undefined,undefined,undefined,undefined,undefined,undefined,undefined");
    let r = post_login("exports.onExecutePostLogin = async () => { require('fs').readFileSync('/etc/passwd'); };");
    assert!(error_of(&r).1.contains("ReferenceError"), "{r:?}");
}

#[test]
fn an_action_is_parsed_once_and_later_runs_load_its_bytecode() {
    let source = "exports.onExecutePostLogin = async (event, api) => {\n  api.idToken.setCustomClaim('n', event.user.email.length);\n  if (event.user.fail) throw new RangeError('line 3');\n}; // bytecode";
    assert!(!sandbox().js_compiled(source));
    let first = post_login(source);
    assert!(sandbox().js_compiled(source), "the first run compiled it");
    let second = post_login(source);
    assert!(first.error.is_none() && second.error.is_none(), "{second:?}");
    assert_eq!(first.decisions, second.decisions);
    assert_eq!(second.decisions[0]["value"], 15);
    // A source that does not compile is reported as the action's error, the
    // same on every run, and is never run from bytecode.
    let broken = "exports.onExecutePostLogin = async () => {\n  let x = ;\n};";
    let (a, b) = (error_of(&post_login(broken)), error_of(&post_login(broken)));
    assert_eq!(a, b);
    assert!(a.1.starts_with("SyntaxError"), "{a:?}");
    assert!(!sandbox().js_compiled(broken));
    // Module-level state is built fresh for each run from the bytecode too.
    let counter =
        "let n = 0; exports.onExecutePostLogin = async (e, api) => { n += 1; api.idToken.setCustomClaim('n', n); };";
    for _ in 0..3 {
        assert_eq!(post_login(counter).decisions[0]["value"], 1);
    }
}

#[test]
fn a_script_sent_by_hash_runs_once_this_host_has_compiled_it() {
    let source = "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('by', 'hash'); };";
    let by_hash = ActionCode { code: None, ..js(source) };
    let (kind, message) = error_of(&run_one(Trigger::PostLogin, by_hash.clone()));
    assert_eq!(kind, ErrorKind::UnknownModule, "{message}");
    assert_eq!(post_login(source).decisions[0]["value"], "hash");
    let r = run_one(Trigger::PostLogin, by_hash);
    assert!(r.error.is_none(), "{r:?}");
    assert_eq!(r.decisions[0]["value"], "hash");
    // A source that does not compile is asked for again: its error comes
    // from the run that has it.
    let broken = "exports.onExecutePostLogin = async () => { let x = ; };";
    assert!(post_login(broken).error.is_some());
    let (kind, _) = error_of(&run_one(Trigger::PostLogin, ActionCode { code: None, ..js(broken) }));
    assert_eq!(kind, ErrorKind::UnknownModule);
}

#[test]
fn state_left_on_global_this_by_one_run_is_not_seen_by_the_next() {
    let source = "exports.onExecutePostLogin = async (e, api) => { api.idToken.setCustomClaim('seen', globalThis.leftover ?? 'nothing'); globalThis.leftover = 'from an earlier run'; Object.prototype.polluted = 1; };";
    for _ in 0..3 {
        let r = post_login(source);
        assert_eq!(r.decisions[0]["value"], "nothing", "{r:?}");
    }
}

#[test]
fn other_runs_succeed_while_a_hostile_one_is_in_flight() {
    std::thread::scope(|s| {
        let hostile = s.spawn(|| post_login("exports.onExecutePostLogin = async () => { while (true) {} };"));
        let others: Vec<_> = (0..4)
            .map(|i| {
                s.spawn(move || {
                    post_login(&format!(
                        "exports.onExecutePostLogin = async (e, api) => {{ api.idToken.setCustomClaim('n', {i}); }};"
                    ))
                })
            })
            .collect();
        for (i, o) in others.into_iter().enumerate() {
            let r = o.join().unwrap();
            assert!(r.error.is_none(), "{r:?}");
            assert_eq!(r.decisions[0]["value"], i);
        }
        assert_eq!(error_of(&hostile.join().unwrap()).0, ErrorKind::Timeout);
    });
}

#[test]
fn runs_stop_after_the_first_deny_and_go_on_after_a_failure() {
    let failing = js("exports.onExecutePostLogin = async () => { throw new Error('x'); };");
    let deny = js("exports.onExecutePostLogin = async (e, api) => { api.access.deny('no'); };");
    let never = js("exports.onExecutePostLogin = async (e, api) => { api.idToken.setCustomClaim('ran', true); };");
    let r = sandbox().run(&request(Trigger::PostLogin, vec![failing, deny, never]));
    assert_eq!(r.results.len(), 2);
    assert!(r.results[0].error.is_some());
    assert_eq!(r.results[1].decisions[0]["type"], "deny");
}

#[test]
fn the_example_component_decides_logs_and_reads_its_secrets() {
    let bytes = component_bytes();
    let r = run_one(Trigger::PostLogin, component(&bytes, true));
    assert!(r.error.is_none(), "{r:?}");
    assert_eq!(r.logs[0].message, "component saw a sign-in by ada@example.com");
    let d = decision::validate(Trigger::PostLogin, &r.decisions).unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(r.decisions[0]["value"], json!({"greeting": "hi from a secret", "client": "cl_1"}));
    // Compiled once: the same hash now runs without its code.
    let r = run_one(Trigger::CredentialsExchange, component(&bytes, false));
    assert_eq!(r.decisions[0]["value"], "Docs", "{r:?}");
}

#[test]
fn a_component_that_traps_is_an_execution_error() {
    let bytes = component_bytes();
    let mut req = request(Trigger::PostLogin, vec![component(&bytes, true)]);
    req.event["user"]["email"] = json!("trap@example.com");
    let r = sandbox().run(&req);
    assert_eq!(error_of(&r.results[0]).0, ErrorKind::Trap, "{:?}", r.results[0]);
}

#[test]
fn unknown_mismatched_and_unlinkable_components_are_refused() {
    // A hash the host has never compiled, sent without code.
    let mut a = component(b"never seen", false);
    a.hash = content_hash(b"never seen");
    assert_eq!(error_of(&run_one(Trigger::PostLogin, a)).0, ErrorKind::UnknownModule);
    // Code that does not match its hash.
    let mut b = component(&component_bytes(), true);
    b.hash = content_hash(b"something else");
    assert!(error_of(&run_one(Trigger::PostLogin, b)).1.contains("does not match"));
    // A component asking for an interface actions are not offered.
    let evil = wat::parse_str(
        r#"(component
             (import "evil:net/socket" (instance (export "connect" (func (param "host" string)))))
           )"#,
    )
    .unwrap();
    let (kind, message) = error_of(&run_one(Trigger::PostLogin, component(&evil, true)));
    assert_eq!(kind, ErrorKind::Invalid);
    assert!(message.contains("evil:net/socket"), "{message}");
    // Bytes that are not Wasm at all.
    let (kind, _) = error_of(&run_one(Trigger::PostLogin, component(b"\0asm garbage", true)));
    assert_eq!(kind, ErrorKind::Invalid);
}
