//! `Host` over Workers bindings: D1 (`DB`), KV (`KV`), a Queue producer
//! (`EVENTS`), `fetch`, and secrets/vars from the environment.

use std::cell::{OnceCell, RefCell};
use tessera_core::host::{
    Clock, Db, DbError, Events, EventsError, Host, Kv, KvError, Outbound, OutboundError, Rng, Row, Secrets, SignError,
    Statement, Value,
};
use tessera_core::types::Secret;
use tessera_core::web::request::{body_limit, declared_too_large, read_capped, Request as CoreRequest};
use wasm_bindgen::JsValue;

use crate::{glue, outbox};

use worker::{
    AbortController, AbortSignal, Context, D1Database, D1PreparedStatement, Delay, Env, Fetch, Headers, KvStore,
    Method, Queue, Request, RequestInit, RequestRedirect,
};

/// The bindings are looked up when first used, not per request: a request
/// that the isolate's caches answer (discovery, JWKS, a cached token
/// client) never touches D1 or KV, and each lookup is several calls into JS.
pub struct WorkersHost<'a> {
    env: &'a Env,
    db: OnceCell<D1Db>,
    kv: OnceCell<WorkersKv>,
    events: QueueEvents<'a>,
    secrets: EnvSecrets,
}

impl<'a> WorkersHost<'a> {
    /// `ctx`: the fetch handler's context, to publish events after the
    /// response; without it (cron) they are published inline.
    pub fn new(env: &'a Env, ctx: Option<&'a Context>) -> worker::Result<Self> {
        Ok(WorkersHost {
            env,
            db: OnceCell::new(),
            kv: OnceCell::new(),
            events: QueueEvents { env, ctx },
            secrets: EnvSecrets(env.clone()),
        })
    }
}

/// The request for the core: its head out of JavaScript in one call, as it
/// came (the method too: workers-rs would map one it does not know to GET,
/// answering `QUERY /login` as a page instead of 405), then its body.
pub async fn to_request(req: &web_sys::Request) -> worker::Result<CoreRequest> {
    let mut r = CoreRequest::from_head(glue::tessera_request_head(req))
        .ok_or_else(|| worker::Error::RustError("the runtime gave a request head that cannot be read".into()))?;
    r.client_ip = r.header("cf-connecting-ip").unwrap_or("unknown").to_owned();
    // A body declared too large is not read at all (the core answers 413 from
    // the header). One declared within the limit is read whole: the runtime
    // holds a body to its declared length. One of no declared length is read
    // at most one chunk past the limit. A GET or HEAD has none (the Fetch
    // standard allows none).
    let declared = r.header("content-length");
    let limit = body_limit(&r.path);
    let none = matches!(r.method, http::Method::GET | http::Method::HEAD) || declared_too_large(declared, limit);
    let whole = declared.and_then(|d| d.trim().parse::<usize>().ok()).is_some_and(|n| n <= limit);
    r.body = if none {
        Vec::new()
    } else if whole {
        glue::body(req).await.unwrap_or_default()
    } else {
        // The handle, not the request's `clone()` (which would tee the body).
        match Request::from(Clone::clone(req)).stream() {
            Ok(stream) => read_capped(stream, limit).await,
            Err(_) => Vec::new(),
        }
    };
    Ok(r)
}

fn js(v: &Value) -> JsValue {
    match v {
        Value::Null => JsValue::NULL,
        // D1 takes numbers, not BigInt; our integers (ms timestamps,
        // counters) stay far below 2^53.
        Value::Integer(i) => JsValue::from_f64(*i as f64),
        Value::Real(f) => JsValue::from_f64(*f),
        Value::Text(s) => JsValue::from_str(s),
    }
}

fn from_json(v: serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Integer(b as i64),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Real(n.as_f64().unwrap_or_default()),
        },
        serde_json::Value::String(s) => Value::Text(s),
        other => Value::Text(other.to_string()),
    }
}

fn db_err(e: worker::Error) -> DbError {
    DbError::from_message(e.to_string())
}

pub struct D1Db(Option<D1Database>);

impl D1Db {
    fn database(&self) -> Result<&D1Database, DbError> {
        self.0.as_ref().ok_or_else(|| DbError::from_message("the DB binding (D1) is missing"))
    }

    fn prepare(&self, sql: &str, params: &[Value]) -> Result<D1PreparedStatement, DbError> {
        let args: Vec<JsValue> = params.iter().map(js).collect();
        self.database()?.prepare(sql).bind(&args).map_err(db_err)
    }
}

impl Db for D1Db {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let res = self.prepare(sql, params)?.all().await.map_err(db_err)?;
        let rows: Vec<serde_json::Map<String, serde_json::Value>> = res.results().map_err(db_err)?;
        Ok(rows.into_iter().map(|m| Row { columns: m.into_iter().map(|(k, v)| (k, from_json(v))).collect() }).collect())
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let res = self.prepare(sql, params)?.run().await.map_err(db_err)?;
        Ok(res.meta().map_err(db_err)?.and_then(|m| m.changes).unwrap_or(0) as u64)
    }

    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<u64>, DbError> {
        let prepared = statements.iter().map(|s| self.prepare(&s.sql, &s.params)).collect::<Result<Vec<_>, _>>()?;
        // D1 runs a batch as one transaction: all statements or none.
        let results = self.database()?.batch(prepared).await.map_err(db_err)?;
        results.iter().map(|r| Ok(r.meta().map_err(db_err)?.and_then(|m| m.changes).unwrap_or(0) as u64)).collect()
    }
}

pub struct WorkersKv(Option<KvStore>);

impl WorkersKv {
    fn store(&self) -> Result<&KvStore, KvError> {
        self.0.as_ref().ok_or_else(|| KvError("the KV binding is missing".into()))
    }
}

impl Kv for WorkersKv {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        self.store()?.get(key).text().await.map_err(|e| KvError(e.to_string()))
    }

    async fn put(&self, key: &str, value: &str, ttl_secs: u64) -> Result<(), KvError> {
        self.store()?
            .put(key, value)
            .map_err(|e| KvError(e.to_string()))?
            .expiration_ttl(ttl_secs.max(60))
            .execute()
            .await
            .map_err(|e| KvError(e.to_string()))
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.store()?.delete(key).await.map_err(|e| KvError(e.to_string()))
    }
}

pub struct JsClock;

impl Clock for JsClock {
    fn now_ms(&self) -> i64 {
        js_sys::Date::now() as i64
    }
}

/// `crypto.getRandomValues`, fetched [`RANDOM_POOL`] bytes at a time: a
/// token request asks for randomness several times (the token's id, its
/// family, the audit event's id), and each call into JavaScript makes a
/// typed array and copies it into the module. Every byte is handed out once
/// and zeroed as it is taken, so the pool holds only bytes not yet used.
pub struct CryptoRng;

const RANDOM_POOL: usize = 256;

thread_local! {
    /// The pool and how much of it is used (all of it at first).
    static RANDOM: RefCell<([u8; RANDOM_POOL], usize)> = const { RefCell::new(([0; RANDOM_POOL], RANDOM_POOL)) };
}

impl Rng for CryptoRng {
    fn fill(&self, buf: &mut [u8]) {
        if buf.len() > RANDOM_POOL / 4 {
            return os_random(buf);
        }
        RANDOM.with(|pool| {
            let (bytes, used) = &mut *pool.borrow_mut();
            if RANDOM_POOL - *used < buf.len() {
                os_random(bytes);
                *used = 0;
            }
            let taken = &mut bytes[*used..*used + buf.len()];
            buf.copy_from_slice(taken);
            taken.fill(0);
            *used += buf.len();
        })
    }
}

fn os_random(buf: &mut [u8]) {
    // Failing here means no secure randomness at all, and nothing may be
    // issued without it.
    getrandom::getrandom(buf).expect("crypto.getRandomValues is available in Workers");
}

pub struct QueueEvents<'a> {
    env: &'a Env,
    /// The request's context: with it, the event goes to the isolate's
    /// outbox and is sent after the response, batched with other requests'
    /// (`outbox`). Without it (cron, the queue consumer) it is sent here.
    ctx: Option<&'a Context>,
}

thread_local! {
    /// The `EVENTS` binding, looked up once per isolate (a binding is the
    /// same object for the isolate's life; each lookup is several calls into
    /// JS). Optional: without it, events stay in the audit table only.
    static EVENTS_QUEUE: OnceCell<Option<Queue>> = const { OnceCell::new() };
}

impl QueueEvents<'_> {
    fn queue(&self) -> Option<Queue> {
        EVENTS_QUEUE.with(|q| q.get_or_init(|| self.env.queue("EVENTS").ok()).clone())
    }

    /// From a request, the outbox takes the message: it is sent within
    /// `outbox::GATHER`, and written to D1 by this isolate if the send
    /// fails. Outside one it is sent now.
    async fn hand_over(&self, queue: Queue, message: outbox::Message) -> Result<(), EventsError> {
        match self.ctx {
            Some(ctx) => {
                outbox::post(self.env, ctx, queue, message);
                Ok(())
            }
            None => outbox::send_now(&queue, &[message]).await.map_err(|e| EventsError(e.to_string())),
        }
    }
}

impl Events for QueueEvents<'_> {
    async fn publish(&self, event_json: &str) -> Result<(), EventsError> {
        let Some(queue) = self.queue() else { return Ok(()) };
        self.hand_over(queue, outbox::Message::Stored(event_json.to_owned())).await
    }

    /// The consumer (`queue` in lib.rs) stores the event, Auth0-style,
    /// seconds later.
    async fn publish_unstored(&self, event_json: &str) -> Result<(), EventsError> {
        let Some(queue) = self.queue() else {
            return Err(EventsError("no EVENTS queue binding".into()));
        };
        self.hand_over(queue, outbox::Message::Unstored(event_json.to_owned())).await
    }
}

pub struct FetchOutbound;

/// How long an outgoing request (mail, a log sink) may take, answer and
/// body included: a sink that never answers must not hold the queue
/// consumer, or outlive the stream's lease and be sent again beside it.
const OUTBOUND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl Outbound for FetchOutbound {
    async fn send(&self, req: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, OutboundError> {
        use futures_util::future::{select, Either};
        let controller = AbortController::default();
        let signal = controller.signal();
        let exchange = std::pin::pin!(fetch(req, &signal));
        let deadline = std::pin::pin!(Delay::from(OUTBOUND_TIMEOUT));
        match select(exchange, deadline).await {
            Either::Left((result, _)) => result,
            Either::Right(_) => {
                controller.abort();
                Err(OutboundError("timed out".into()))
            }
        }
    }
}

/// One exchange, aborted through `signal` when the deadline passes.
async fn fetch(req: http::Request<Vec<u8>>, signal: &AbortSignal) -> Result<http::Response<Vec<u8>>, OutboundError> {
    let err = |e: worker::Error| OutboundError(e.to_string());
    let (parts, body) = req.into_parts();
    let headers = Headers::new();
    for (k, v) in parts.headers.iter() {
        if let Ok(v) = v.to_str() {
            headers.append(k.as_str(), v).map_err(err)?;
        }
    }
    let mut init = RequestInit::new();
    // A redirect is an answer to record, never followed: following one
    // would carry the batch and its credentials to another address.
    init.with_method(Method::from(parts.method.to_string()))
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual);
    if !body.is_empty() {
        init.with_body(Some(js_sys::Uint8Array::from(&body[..]).into()));
    }
    let wreq = Request::new_with_init(&parts.uri.to_string(), &init).map_err(err)?;
    let mut resp = Fetch::Request(wreq).send_with_signal(signal).await.map_err(err)?;
    let mut b = http::Response::builder().status(resp.status_code());
    for (k, v) in resp.headers().entries() {
        b = b.header(k, v);
    }
    let bytes = resp.bytes().await.map_err(err)?;
    b.body(bytes).map_err(|e| OutboundError(e.to_string()))
}

pub struct EnvSecrets(Env);

thread_local! {
    /// Vars and secrets as this isolate's environment holds them. They are
    /// fixed for the isolate's life (a change is a new deployment, in new
    /// isolates), and each read is several calls into JS; the core reads a
    /// handful on every request (`config::missing`, the master key).
    /// A handful of names, so a list: looked up without allocating a key.
    static ENV: RefCell<Vec<(bool, String, Option<String>)>> = const { RefCell::new(Vec::new()) };
}

impl EnvSecrets {
    fn read(&self, secret: bool, name: &str) -> Option<String> {
        let kept =
            ENV.with(|c| c.borrow().iter().find(|(s, n, _)| *s == secret && n == name).map(|(_, _, v)| v.clone()));
        if let Some(v) = kept {
            return v;
        }
        let v = if secret {
            self.0.secret(name).ok().map(|s| s.to_string())
        } else {
            self.0.var(name).ok().map(|v| v.to_string())
        };
        ENV.with(|c| c.borrow_mut().push((secret, name.to_owned(), v.clone())));
        v
    }
}

impl Secrets for EnvSecrets {
    fn secret(&self, name: &str) -> Option<Secret<String>> {
        self.read(true, name).map(Secret::new)
    }

    fn var(&self, name: &str) -> Option<String> {
        self.read(false, name)
    }
}

impl<'a> Host for WorkersHost<'a> {
    type Db = D1Db;
    type Kv = WorkersKv;
    type Clock = JsClock;
    type Rng = CryptoRng;
    type Events = QueueEvents<'a>;
    type Outbound = FetchOutbound;
    type Secrets = EnvSecrets;

    fn db(&self) -> &D1Db {
        // The binding is in wrangler.toml; without it nothing can work, and
        // the first query says so.
        self.db.get_or_init(|| D1Db(self.env.d1("DB").ok()))
    }
    fn kv(&self) -> &WorkersKv {
        self.kv.get_or_init(|| WorkersKv(self.env.kv("KV").ok()))
    }
    fn clock(&self) -> &JsClock {
        &JsClock
    }
    fn rng(&self) -> &CryptoRng {
        &CryptoRng
    }
    fn events(&self) -> &QueueEvents<'a> {
        &self.events
    }
    fn outbound(&self) -> &FetchOutbound {
        &FetchOutbound
    }
    fn secrets(&self) -> &EnvSecrets {
        &self.secrets
    }
    fn report_error(&self, message: &str) {
        worker::console_error!("tessera: {message}");
    }

    async fn sign_es256(&self, key: &p256::ecdsa::SigningKey, message: &[u8]) -> Result<[u8; 64], SignError> {
        crate::es256::sign(key, message).map_err(|e| SignError(format!("node:crypto: {e:?}")))
    }

    async fn verify_es256(&self, key: &p256::ecdsa::VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
        crate::es256::verify(key, message, signature).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::{CryptoRng, RANDOM, RANDOM_POOL};
    use tessera_core::host::Rng;

    fn pool() -> ([u8; RANDOM_POOL], usize) {
        RANDOM.with(|p| *p.borrow())
    }

    #[test]
    fn pooled_randomness_is_handed_out_once_and_zeroed_as_it_is_taken() {
        let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
        CryptoRng.fill(&mut a);
        let (bytes, used) = pool();
        assert_eq!(used, 16);
        assert!(bytes[..16].iter().all(|&x| x == 0), "taken bytes stay in the pool");
        assert!(bytes[16..].iter().any(|&x| x != 0), "the pool was filled");
        CryptoRng.fill(&mut b);
        assert_ne!(a, b);
        assert_eq!(pool().1, 32);
        // What is left is too little: the pool is filled again, from the start.
        let mut filler = [0u8; 48];
        for _ in 0..(RANDOM_POOL - 32) / 48 {
            CryptoRng.fill(&mut filler);
        }
        let left = RANDOM_POOL - pool().1;
        assert!(left < 48);
        CryptoRng.fill(&mut filler);
        assert_eq!(pool().1, 48);
        // A large request comes straight from the runtime, the pool untouched.
        let mut large = [0u8; RANDOM_POOL];
        CryptoRng.fill(&mut large);
        assert_eq!(pool().1, 48);
        assert!(large.iter().any(|&x| x != 0));
    }
}
