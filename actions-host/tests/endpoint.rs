//! The signed HTTP endpoint: only a fresh, correctly signed run request
//! reaches the sandbox.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use serde_json::{json, Value};
use tessera_actions_host::config::Limits;
use tessera_actions_host::sandbox::{content_hash, Sandbox};
use tessera_actions_host::server::{serve, Server};
use tessera_core::actions::protocol::{ActionCode, RunRequest, Runtime};
use tessera_core::actions::signature::{sign, TOLERANCE_SECS};
use tessera_core::actions::Trigger;
use tessera_core::types::Secret;

const SECRET: &[u8] = b"an actions secret of enough length for tests";

fn base() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| {
        let runner = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/wasm32-unknown-unknown/release/tessera_js_runner.wasm"
        ));
        assert!(runner.exists(), "{} is missing: run scripts/build-actions.sh first", runner.display());
        let cache = std::env::temp_dir().join("tessera-actions-test-cache");
        let sandbox = Sandbox::new(Limits::default(), 4, &runner, &cache).expect("sandbox starts");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Server::new(Arc::new(sandbox), Secret::new(SECRET.to_vec()), 4);
        std::thread::spawn(move || serve(server, listener));
        format!("http://{addr}")
    })
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn body(id: &str) -> Vec<u8> {
    let source =
        "exports.onExecutePostLogin = async (event, api) => { api.idToken.setCustomClaim('hello', event.user.name); };";
    let req = RunRequest {
        id: id.into(),
        tenant: "acme".into(),
        trigger: Trigger::PostLogin,
        now_ms: now() * 1000,
        event: json!({"user": {"name": "Ada"}}),
        actions: vec![ActionCode {
            action_id: "act_1".into(),
            version: 1,
            runtime: Runtime::Js,
            hash: content_hash(source.as_bytes()),
            code: Some(source.into()),
            secrets: BTreeMap::new(),
        }],
    };
    serde_json::to_vec(&req).unwrap()
}

fn post(path: &str, signature: Option<String>, body: &[u8]) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut req = agent.post(format!("{}{path}", base())).header("content-type", "application/json");
    if let Some(s) = signature {
        req = req.header("tessera-signature", s);
    }
    let mut res = req.send(body).unwrap();
    let status = res.status().as_u16();
    let text = res.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn a_signed_request_runs_and_its_replay_is_refused() {
    let b = body("req_replay");
    let sig = sign(SECRET, now(), &b);
    let (status, res) = post("/v1/run", Some(sig.clone()), &b);
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["results"][0]["decisions"][0]["value"], "Ada");
    let (status, res) = post("/v1/run", Some(sig), &b);
    assert_eq!(status, 401);
    assert_eq!(res["error"], "invalid_signature");
}

#[test]
fn bad_missing_and_stale_signatures_are_refused_before_anything_runs() {
    let b = body("req_bad");
    let cases = [
        Some(sign(b"another secret of the same sort of length....", now(), &b)),
        Some(sign(SECRET, now() - TOLERANCE_SECS - 60, &b)),
        Some(sign(SECRET, now(), b"a different body")),
        Some("t=1,v1=zz".into()),
        None,
    ];
    for sig in cases {
        let (status, res) = post("/v1/run", sig.clone(), &b);
        assert_eq!(status, 401, "{sig:?}");
        assert_eq!(res["error"], "invalid_signature");
        assert!(!res.to_string().contains("actions secret"));
    }
}

#[test]
fn malformed_and_oversized_bodies_get_clear_errors() {
    let junk = b"{\"not\": \"a run\"}".to_vec();
    let (status, res) = post("/v1/run", Some(sign(SECRET, now(), &junk)), &junk);
    assert_eq!(status, 400);
    assert_eq!(res["error"], "invalid_request");
    // Writing all of an oversized body races the server closing the socket,
    // so this declares the length and sends none of it: the server answers
    // from the header alone.
    let addr = base().trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST /v1/run HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        9 << 20
    );
    std::io::Write::write_all(&mut stream, head.as_bytes()).unwrap();
    let mut reply = [0u8; 512];
    let n = std::io::Read::read(&mut stream, &mut reply).unwrap();
    let reply = String::from_utf8_lossy(&reply[..n]);
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(reply.contains("too large"), "{reply}");
    let (status, _) = post("/v1/elsewhere", None, b"");
    assert_eq!(status, 404);
}
