//! The narrow traits a host implements once (Workers, Spin, native tests).
//!
//! The core never touches a platform API, the wall clock or ambient
//! randomness: everything reaches it through [`Host`], so a test can pin time
//! and randomness and run the very same handlers over real SQLite.
//!
//! The traits are `?Send`: Workers is single-threaded and its JS values are not
//! `Send`, so no future here is required to be.
#![allow(async_fn_in_trait)]

use crate::secret::Secret;

/// A value bound to, or read from, a SQLite statement.
///
/// There are no BLOBs in the schema: D1 hands blobs to JavaScript as arrays of
/// numbers, so binary data is stored as base64 text instead.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Integer(v as i64)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// One result row: column names and values in select order.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub columns: Vec<(String, Value)>,
}

impl Row {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.columns.iter().find(|(c, _)| c == name).map(|(_, v)| v)
    }

    pub fn text(&self, name: &str) -> Result<String, DbError> {
        match self.get(name) {
            Some(Value::Text(s)) => Ok(s.clone()),
            other => Err(DbError::other(format!("column {name}: expected text, got {other:?}"))),
        }
    }

    pub fn opt_text(&self, name: &str) -> Result<Option<String>, DbError> {
        match self.get(name) {
            Some(Value::Text(s)) => Ok(Some(s.clone())),
            Some(Value::Null) | None => Ok(None),
            other => Err(DbError::other(format!("column {name}: expected text, got {other:?}"))),
        }
    }

    pub fn int(&self, name: &str) -> Result<i64, DbError> {
        self.opt_int(name)?.ok_or_else(|| DbError::other(format!("column {name}: unexpected NULL")))
    }

    pub fn opt_int(&self, name: &str) -> Result<Option<i64>, DbError> {
        match self.get(name) {
            Some(Value::Integer(i)) => Ok(Some(*i)),
            // D1 returns every number as a JS double.
            Some(Value::Real(f)) if f.fract() == 0.0 => Ok(Some(*f as i64)),
            Some(Value::Null) | None => Ok(None),
            other => Err(DbError::other(format!("column {name}: expected integer, got {other:?}"))),
        }
    }

    pub fn bool(&self, name: &str) -> Result<bool, DbError> {
        Ok(self.int(name)? != 0)
    }
}

/// One statement of a [`Db::batch`].
#[derive(Debug, Clone)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<Value>,
}

impl Statement {
    pub fn new(sql: impl Into<String>, params: Vec<Value>) -> Self {
        Statement { sql: sql.into(), params }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbErrorKind {
    /// A UNIQUE or PRIMARY KEY constraint refused the write.
    Unique,
    /// A FOREIGN KEY constraint refused the write: the row it points at is
    /// gone (deleted meanwhile, perhaps by another isolate).
    ForeignKey,
    Other,
}

/// A database failure. The message is for operators' logs, never for clients.
#[derive(Debug, Clone, thiserror::Error)]
#[error("database error: {message}")]
pub struct DbError {
    pub kind: DbErrorKind,
    pub message: String,
}

impl DbError {
    pub fn other(message: impl Into<String>) -> Self {
        DbError { kind: DbErrorKind::Other, message: message.into() }
    }

    /// SQLite, D1 and Spin all report constraint failures with SQLite's text.
    pub fn from_message(message: impl Into<String>) -> Self {
        let message = message.into();
        let kind = if message.contains("UNIQUE constraint failed") || message.contains("PRIMARY KEY constraint failed")
        {
            DbErrorKind::Unique
        } else if message.contains("FOREIGN KEY constraint failed") {
            DbErrorKind::ForeignKey
        } else {
            DbErrorKind::Other
        };
        DbError { kind, message }
    }
}

/// SQLite with bound parameters.
pub trait Db {
    /// Runs a statement that returns rows.
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError>;
    /// Runs a statement and returns the number of rows it changed. Single-use
    /// decisions (codes, tokens) rest on this count.
    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError>;
    /// Runs statements atomically (all or none) and returns each one's changed
    /// row count.
    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<u64>, DbError>;
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("kv error: {0}")]
pub struct KvError(pub String);

/// A cache with a TTL. Eventually consistent on Workers (up to 60 s): never
/// the source of truth, never used to decide single use.
pub trait Kv {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError>;
    /// `ttl_secs` of at least 60 (the Workers KV minimum).
    async fn put(&self, key: &str, value: &str, ttl_secs: u64) -> Result<(), KvError>;
    async fn delete(&self, key: &str) -> Result<(), KvError>;
}

pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

pub trait Rng {
    /// Fills `buf` from a cryptographically secure source.
    fn fill(&self, buf: &mut [u8]);
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("events error: {0}")]
pub struct EventsError(pub String);

/// Hands audit events to the streaming pipeline (a Queue on Workers, the
/// outbox table elsewhere). The audit table is written by the core itself,
/// or, for an event handed over with [`Events::publish_unstored`], by the
/// pipeline's consumer.
pub trait Events {
    async fn publish(&self, event_json: &str) -> Result<(), EventsError>;

    /// Hands over an event the audit table does not hold yet, for the
    /// pipeline's consumer to store (idempotently, by event id) as well as
    /// stream: a request that records nothing else then makes no database
    /// round trip for its event. `Ok` once the pipeline has taken charge of
    /// it: holds it durably, or (Workers) will send it after the response
    /// and write it to the database itself if that send fails. A host
    /// without such a consumer refuses, and the caller stores the event
    /// itself.
    async fn publish_unstored(&self, _event_json: &str) -> Result<(), EventsError> {
        Err(EventsError("this host's event pipeline does not store events".into()))
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("outbound error: {0}")]
pub struct OutboundError(pub String);

/// HTTP out: email provider, actions host, log sinks.
pub trait Outbound {
    async fn send(&self, req: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, OutboundError>;
}

/// Deployment secrets and plain configuration variables.
pub trait Secrets {
    /// A secret binding (`MASTER_KEY`, `PLATFORM_API_KEY`, ...).
    fn secret(&self, name: &str) -> Option<Secret<String>>;
    /// A plain configuration variable (`PUBLIC_URL`, `DEV_MODE`, ...).
    fn var(&self, name: &str) -> Option<String>;
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("signing error: {0}")]
pub struct SignError(pub String);

/// Everything the core may touch outside itself.
pub trait Host {
    type Db: Db;
    type Kv: Kv;
    type Clock: Clock;
    type Rng: Rng;
    type Events: Events;
    type Outbound: Outbound;
    type Secrets: Secrets;

    fn db(&self) -> &Self::Db;
    fn kv(&self) -> &Self::Kv;
    fn clock(&self) -> &Self::Clock;
    fn rng(&self) -> &Self::Rng;
    fn events(&self) -> &Self::Events;
    fn outbound(&self) -> &Self::Outbound;
    fn secrets(&self) -> &Self::Secrets;

    /// Writes an operator-facing line about a server-side failure (the
    /// platform's log: `console.error` on Workers, stderr natively). Never
    /// called with a secret: callers pass `Error::internal`, which handlers
    /// fill without secrets.
    fn report_error(&self, _message: &str) {}

    /// ES256 (RFC 7518 §3.4): ECDSA P-256 over the SHA-256 of `message`, as
    /// the 64-byte `R || S` a JWS carries. The default computes it in the
    /// core with `p256`; a host with native ECDSA overrides it (Workers use
    /// workerd's `node:crypto`), because P-256 arithmetic in Wasm costs
    /// about a millisecond a signature.
    async fn sign_es256(
        &self,
        key: &p256::ecdsa::SigningKey,
        message: &[u8],
    ) -> std::result::Result<[u8; 64], SignError> {
        use p256::ecdsa::signature::Signer;
        let signature: p256::ecdsa::Signature = key.try_sign(message).map_err(|e| SignError(e.to_string()))?;
        Ok(signature.to_bytes().into())
    }

    /// Checks an ES256 `R || S` signature; anything but 64 bytes fails.
    async fn verify_es256(&self, key: &p256::ecdsa::VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
        use p256::ecdsa::signature::Verifier;
        p256::ecdsa::Signature::from_slice(signature).is_ok_and(|s| key.verify(message, &s).is_ok())
    }
}

/// Helpers every handler uses on top of the raw traits.
pub trait HostExt: Host {
    fn now(&self) -> i64 {
        self.clock().now_ms()
    }

    fn random_bytes<const N: usize>(&self) -> [u8; N] {
        let mut b = [0u8; N];
        self.rng().fill(&mut b);
        b
    }
}

impl<H: Host> HostExt for H {}
