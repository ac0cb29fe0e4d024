//! The signed HTTP endpoint the edge calls: `POST /v1/run` with a
//! [`RunRequest`] body and a `Tessera-Signature` header, answered with a
//! [`RunResponse`]. `GET /healthz` for load balancers.
//!
//! Refused before any code runs: a missing, malformed, stale or wrong
//! signature, a signature already seen (a replay within the tolerance), a
//! body over the size limit or not a run request. Errors are OAuth-style
//! JSON, `{"error", "error_description"}`, with no secret in them.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tessera_core::actions::protocol::{RunRequest, MAX_REQUEST_BYTES, RUN_PATH};
use tessera_core::actions::signature::{self, SignatureError, TOLERANCE_SECS};
use tessera_core::types::Secret;
use tokio::sync::Semaphore;

use crate::sandbox::Sandbox;

pub struct Server {
    sandbox: Arc<Sandbox>,
    secret: Secret<Vec<u8>>,
    /// Signatures seen within the tolerance window, with their timestamps.
    seen: Mutex<HashMap<String, i64>>,
    permits: Semaphore,
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(Full::new(Bytes::from(body)))
        .expect("static response parts")
}

fn error(status: StatusCode, code: &str, description: &str) -> Response<Full<Bytes>> {
    json(status, serde_json::json!({"error": code, "error_description": description}).to_string())
}

impl Server {
    pub fn new(sandbox: Arc<Sandbox>, secret: Secret<Vec<u8>>, concurrency: u32) -> Server {
        Server {
            sandbox,
            secret,
            seen: Mutex::new(HashMap::new()),
            permits: Semaphore::new(concurrency.max(1) as usize),
        }
    }

    /// Checks the signature and that it was not used before.
    fn authenticate(&self, header: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
        let now = now_secs();
        let t = signature::verify(self.secret.expose(), header, body, now)?;
        let v1 = header.and_then(|h| h.split(',').find_map(|p| p.trim().strip_prefix("v1="))).unwrap_or_default();
        let mut seen = self.seen.lock().expect("replay cache lock");
        if seen.len() >= 4096 {
            seen.retain(|_, at| *at >= now - TOLERANCE_SECS);
        }
        if seen.insert(v1.to_ascii_lowercase(), t).is_some() {
            return Err(SignatureError::Stale);
        }
        Ok(())
    }

    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Full<Bytes>> {
        match (req.method(), req.uri().path()) {
            (&Method::GET, "/healthz") => return json(StatusCode::OK, "{\"status\":\"ok\"}".into()),
            (&Method::POST, RUN_PATH) => {}
            (_, RUN_PATH) => return error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request", "use POST"),
            _ => return error(StatusCode::NOT_FOUND, "not_found", "no such endpoint"),
        }
        let header = req.headers().get(signature::HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        // A declared length over the cap is refused before any of the body is
        // read, so the sender learns why instead of meeting a closed socket.
        let declared = req.headers().get(hyper::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
        if declared.and_then(|v| v.parse::<u64>().ok()).is_some_and(|n| n > MAX_REQUEST_BYTES as u64) {
            return error(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", "the request body is too large");
        }
        let body = match Limited::new(req.into_body(), MAX_REQUEST_BYTES).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => {
                return error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "invalid_request",
                    "the request body is too large or was cut short",
                )
            }
        };
        if let Err(e) = self.authenticate(header.as_deref(), &body) {
            let description = match e {
                SignatureError::Stale => "the signature is stale or was already used",
                _ => "the request's signature is missing or wrong",
            };
            return error(StatusCode::UNAUTHORIZED, "invalid_signature", description);
        }
        let run: RunRequest = match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => return error(StatusCode::BAD_REQUEST, "invalid_request", &format!("not a run request: {e}")),
        };
        let Ok(_permit) = self.permits.acquire().await else {
            return error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", "the host is shutting down");
        };
        let sandbox = self.sandbox.clone();
        match tokio::task::spawn_blocking(move || sandbox.run(&run)).await {
            Ok(response) => json(StatusCode::OK, serde_json::to_string(&response).unwrap_or_default()),
            Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "the run could not complete"),
        }
    }
}

/// Serves on `listener` until the process ends.
pub fn serve(server: Server, listener: std::net::TcpListener) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    // One thread for the HTTP side, which is light (parse, verify, encode);
    // runs go to the blocking pool. A multi-thread runtime's workers parking
    // and waking around each hand-over cost about 0.1 ms of CPU a run
    // (bench/actions.mjs).
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let server = Arc::new(server);
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(s) => s,
                Err(_) => continue,
            };
            let server = server.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let server = server.clone();
                    async move { Ok::<_, Infallible>(server.handle(req).await) }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    })
}
