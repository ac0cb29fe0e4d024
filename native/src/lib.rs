//! A native [`Host`] over real SQLite: the same migrations D1 runs, the same
//! SQL. Domain tests drive `tessera_core::handle` through it; native tools
//! (seeding, the actions host's outbox) use it too.
//!
//! Everything is single-threaded (`RefCell`), like Workers.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::Connection;
use tessera_core::host::{
    Clock, Db, DbError, Events, EventsError, Host, Kv, KvError, Outbound, OutboundError, Rng, Row, Secrets, SignError,
    Statement, Value,
};
use tessera_core::types::Secret;

pub mod es256;

/// The repository's `migrations/` folder.
pub fn migrations_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations")
}

/// Applies the `.sql` files of `dir` in name order, recording each in
/// `d1_migrations` (the table wrangler uses), so a file is applied once.
pub fn migrate(conn: &Connection, dir: &Path) -> Result<Vec<String>, String> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE,
         applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
    )
    .map_err(|e| e.to_string())?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    let mut applied = Vec::new();
    for f in files {
        let name = f.file_name().unwrap_or_default().to_string_lossy().to_string();
        let done: bool = conn
            .query_row("SELECT EXISTS(SELECT 1 FROM d1_migrations WHERE name = ?1)", [&name], |r| r.get(0))
            .map_err(|e| e.to_string())?;
        if done {
            continue;
        }
        let sql = std::fs::read_to_string(&f).map_err(|e| e.to_string())?;
        conn.execute_batch(&format!("BEGIN;\n{sql}\nINSERT INTO d1_migrations (name) VALUES ('{name}');\nCOMMIT;"))
            .map_err(|e| format!("{name}: {e}"))?;
        applied.push(name);
    }
    Ok(applied)
}

/// Statements a test has lined up to commit before a handler's next batch.
type BatchHook = Box<dyn FnOnce(&Connection)>;

pub struct SqliteDb {
    conn: RefCell<Connection>,
    before_batch: RefCell<Option<BatchHook>>,
}

impl SqliteDb {
    pub fn open_in_memory() -> Result<Self, String> {
        let conn = Connection::open_in_memory().map_err(|e| e.to_string())?;
        Self::init(conn)
    }

    pub fn open(path: &Path) -> Result<Self, String> {
        let conn = Connection::open(path).map_err(|e| e.to_string())?;
        Self::init(conn)
    }

    fn init(conn: Connection) -> Result<Self, String> {
        // D1 enforces foreign keys; so must every other host. Another process
        // (the Spin host, a second delivery worker) may hold the file's lock
        // for a moment: wait for it rather than fail.
        conn.execute_batch("PRAGMA foreign_keys = ON;").map_err(|e| e.to_string())?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(|e| e.to_string())?;
        // Statements are kept compiled by their SQL text (`prepare_cached`):
        // the core's are a few hundred distinct texts, and compiling one was
        // about a third of a native token request's instructions (callgrind).
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        migrate(&conn, &migrations_dir())?;
        Ok(SqliteDb { conn: RefCell::new(conn), before_batch: RefCell::new(None) })
    }

    /// Test hook: runs `f` on the connection just before the next `batch`
    /// begins, as another request's commit landing between a handler's
    /// checks and its writes would. Races become deterministic tests.
    pub fn before_next_batch(&self, f: impl FnOnce(&Connection) + 'static) {
        *self.before_batch.borrow_mut() = Some(Box::new(f));
    }

    /// Direct access for tests that inspect or age rows.
    pub fn conn(&self) -> std::cell::RefMut<'_, Connection> {
        self.conn.borrow_mut()
    }
}

/// A core parameter as rusqlite binds it (tests and benchmarks that run
/// the core's statements on the connection directly use it too).
pub fn to_sql(v: &Value) -> SqlValue {
    match v {
        Value::Null => SqlValue::Null,
        Value::Integer(i) => SqlValue::Integer(*i),
        Value::Real(f) => SqlValue::Real(*f),
        Value::Text(s) => SqlValue::Text(s.clone()),
    }
}

fn err(e: rusqlite::Error) -> DbError {
    DbError::from_message(e.to_string())
}

/// Compiled statements kept per connection (SQLite recompiles a kept one
/// itself after a schema change).
const STATEMENT_CACHE: usize = 256;

fn run_query(conn: &Connection, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
    let mut stmt = conn.prepare_cached(sql).map_err(err)?;
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let params: Vec<SqlValue> = params.iter().map(to_sql).collect();
    let mut rows = stmt.query(rusqlite::params_from_iter(params)).map_err(err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(err)? {
        let mut columns = Vec::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            let v = match r.get_ref(i).map_err(err)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(i) => Value::Integer(i),
                ValueRef::Real(f) => Value::Real(f),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Text(String::from_utf8_lossy(b).into_owned()),
            };
            columns.push((n.clone(), v));
        }
        out.push(Row { columns });
    }
    Ok(out)
}

fn run_execute(conn: &Connection, sql: &str, params: &[Value]) -> Result<u64, DbError> {
    let params: Vec<SqlValue> = params.iter().map(to_sql).collect();
    let mut stmt = conn.prepare_cached(sql).map_err(err)?;
    stmt.execute(rusqlite::params_from_iter(params)).map(|n| n as u64).map_err(err)
}

impl Db for SqliteDb {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        run_query(&self.conn.borrow(), sql, params)
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        run_execute(&self.conn.borrow(), sql, params)
    }

    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<u64>, DbError> {
        let hook = self.before_batch.borrow_mut().take();
        if let Some(f) = hook {
            f(&self.conn.borrow());
        }
        let mut conn = self.conn.borrow_mut();
        let tx = conn.transaction().map_err(err)?;
        let mut counts = Vec::with_capacity(statements.len());
        for s in &statements {
            counts.push(run_execute(&tx, &s.sql, &s.params)?);
        }
        tx.commit().map_err(err)?;
        Ok(counts)
    }
}

/// KV in a SQLite table, with the same TTL semantics (expired = absent).
pub struct SqliteKv<'a> {
    db: &'a SqliteDb,
    clock: &'a SystemOrFixedClock,
}

impl Kv for SqliteKv<'_> {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        let now = self.clock.now_ms();
        let rows = run_query(
            &self.db.conn.borrow(),
            "SELECT value FROM kv_cache WHERE key = ?1 AND expires_at > ?2",
            &[key.into(), now.into()],
        )
        .map_err(|e| KvError(e.to_string()))?;
        Ok(rows.first().and_then(|r| r.text("value").ok()))
    }

    async fn put(&self, key: &str, value: &str, ttl_secs: u64) -> Result<(), KvError> {
        let expires = self.clock.now_ms() + ttl_secs as i64 * 1000;
        run_execute(
            &self.db.conn.borrow(),
            "INSERT INTO kv_cache (key, value, expires_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
            &[key.into(), value.into(), expires.into()],
        )
        .map(|_| ())
        .map_err(|e| KvError(e.to_string()))
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        run_execute(&self.db.conn.borrow(), "DELETE FROM kv_cache WHERE key = ?1", &[key.into()])
            .map(|_| ())
            .map_err(|e| KvError(e.to_string()))
    }
}

/// The system clock, or a pinned one that tests move by hand.
#[derive(Default)]
pub struct SystemOrFixedClock {
    fixed: Cell<Option<i64>>,
}

impl SystemOrFixedClock {
    pub fn fixed(ms: i64) -> Self {
        SystemOrFixedClock { fixed: Cell::new(Some(ms)) }
    }
    /// The current time, as the core sees it.
    pub fn now_ms_pub(&self) -> i64 {
        self.now_ms()
    }
    pub fn set_fixed(&self, ms: i64) {
        self.fixed.set(Some(ms));
    }
    pub fn advance(&self, ms: i64) {
        if let Some(t) = self.fixed.get() {
            self.fixed.set(Some(t + ms));
        }
    }
}

impl Clock for SystemOrFixedClock {
    fn now_ms(&self) -> i64 {
        self.fixed.get().unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0)
        })
    }
}

pub struct OsRng;

impl Rng for OsRng {
    fn fill(&self, buf: &mut [u8]) {
        getrandom::getrandom(buf).expect("the OS provides secure randomness");
    }
}

/// Events go to the outbox table, drained by the delivery worker.
pub struct OutboxEvents<'a> {
    db: &'a SqliteDb,
    clock: &'a SystemOrFixedClock,
}

impl Events for OutboxEvents<'_> {
    async fn publish(&self, event_json: &str) -> Result<(), EventsError> {
        let st = tessera_core::logs::outbox_statement(event_json, self.clock.now_ms());
        run_execute(&self.db.conn.borrow(), &st.sql, &st.params).map(|_| ()).map_err(|e| EventsError(e.to_string()))
    }
}

/// Records outgoing requests and answers each with the configured status, so
/// tests can see exactly what would have been sent.
#[derive(Default)]
pub struct RecordingOutbound {
    pub sent: RefCell<Vec<http::Request<Vec<u8>>>>,
    pub status: Cell<u16>,
    /// The body every answer carries.
    pub body: RefCell<Vec<u8>>,
}

impl Outbound for RecordingOutbound {
    async fn send(&self, req: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, OutboundError> {
        self.sent.borrow_mut().push(req);
        let status = match self.status.get() {
            0 => 202,
            s => s,
        };
        http::Response::builder()
            .status(status)
            .body(self.body.borrow().clone())
            .map_err(|e| OutboundError(e.to_string()))
    }
}

#[derive(Default)]
pub struct MapSecrets {
    pub secrets: RefCell<HashMap<String, String>>,
    pub vars: RefCell<HashMap<String, String>>,
}

impl Secrets for MapSecrets {
    fn secret(&self, name: &str) -> Option<Secret<String>> {
        self.secrets.borrow().get(name).cloned().map(Secret::new)
    }
    fn var(&self, name: &str) -> Option<String> {
        self.vars.borrow().get(name).cloned()
    }
}

/// The native host. KV and events borrow the database, so they are views
/// built on access. Tests record outgoing requests; the delivery worker
/// sends them for real.
pub struct NativeHost<O: Outbound = RecordingOutbound> {
    pub db: SqliteDb,
    pub clock: SystemOrFixedClock,
    pub outbound: O,
    pub secrets: MapSecrets,
    /// Lines passed to `report_error`, for tests to inspect.
    pub errors: RefCell<Vec<String>>,
}

impl NativeHost {
    /// An in-memory database with the migrations applied.
    pub fn in_memory() -> Result<Self, String> {
        Ok(Self::with_db(SqliteDb::open_in_memory()?))
    }

    pub fn with_db(db: SqliteDb) -> Self {
        Self::with_outbound(db, RecordingOutbound::default())
    }
}

impl<O: Outbound> NativeHost<O> {
    pub fn with_outbound(db: SqliteDb, outbound: O) -> Self {
        NativeHost {
            db,
            clock: SystemOrFixedClock::default(),
            outbound,
            secrets: MapSecrets::default(),
            errors: RefCell::default(),
        }
    }

    pub fn set_secret(&self, k: &str, v: &str) {
        self.secrets.secrets.borrow_mut().insert(k.into(), v.into());
    }

    pub fn set_var(&self, k: &str, v: &str) {
        self.secrets.vars.borrow_mut().insert(k.into(), v.into());
    }

    /// Runs the core on a request, blocking (every adapter here is
    /// synchronous underneath).
    pub fn handle(&self, req: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        pollster::block_on(tessera_core::handle(req, &HostView::new(self)))
    }
}

/// `Host` is implemented on a borrowed view so KV and events can borrow the
/// database they live in.
pub struct HostView<'a, O: Outbound = RecordingOutbound> {
    host: &'a NativeHost<O>,
    kv: SqliteKv<'a>,
    events: OutboxEvents<'a>,
}

impl<'a, O: Outbound> HostView<'a, O> {
    pub fn new(host: &'a NativeHost<O>) -> Self {
        HostView {
            host,
            kv: SqliteKv { db: &host.db, clock: &host.clock },
            events: OutboxEvents { db: &host.db, clock: &host.clock },
        }
    }
}

impl<'a, O: Outbound> Host for HostView<'a, O> {
    type Db = SqliteDb;
    type Kv = SqliteKv<'a>;
    type Clock = SystemOrFixedClock;
    type Rng = OsRng;
    type Events = OutboxEvents<'a>;
    type Outbound = O;
    type Secrets = MapSecrets;

    fn db(&self) -> &SqliteDb {
        &self.host.db
    }
    fn kv(&self) -> &SqliteKv<'a> {
        &self.kv
    }
    fn clock(&self) -> &SystemOrFixedClock {
        &self.host.clock
    }
    fn rng(&self) -> &OsRng {
        &OsRng
    }
    fn events(&self) -> &OutboxEvents<'a> {
        &self.events
    }
    fn outbound(&self) -> &O {
        &self.host.outbound
    }
    fn secrets(&self) -> &MapSecrets {
        &self.host.secrets
    }
    fn report_error(&self, message: &str) {
        self.host.errors.borrow_mut().push(message.to_string());
        eprintln!("tessera: {message}");
    }

    async fn sign_es256(&self, key: &p256::ecdsa::SigningKey, message: &[u8]) -> Result<[u8; 64], SignError> {
        es256::sign(key, message).map_err(SignError)
    }

    async fn verify_es256(&self, key: &p256::ecdsa::VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
        es256::verify(key, message, signature)
    }
}
