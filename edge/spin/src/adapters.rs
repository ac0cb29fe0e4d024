//! `Host` over Spin: SQLite (`default` database), key-value (`default`
//! store, with the TTL kept in the value since Spin KV has none), an outbox
//! table for events, outbound HTTP, and Spin variables for secrets and
//! configuration (`MASTER_KEY` is read from the variable `master_key`).

use std::cell::Cell;

use spin_sdk::http::IncomingRequest;
use spin_sdk::key_value::Store;
use spin_sdk::sqlite::{Connection, Value as SqlValue};
use tessera_core::host::{
    Clock, Db, DbError, Events, EventsError, Host, Kv, KvError, Outbound, OutboundError, Rng, Row, Secrets, Statement,
    Value,
};
use tessera_core::types::Secret;
use tessera_core::web::request::{body_limit, declared_too_large, read_capped};
use tessera_core::ClientIp;

mod migrations {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

thread_local! {
    // Spin may reuse an instance; migrations are checked once per instance.
    static MIGRATED: Cell<bool> = const { Cell::new(false) };
    // One connection per instance: foreign keys are switched on once, and a
    // batch's BEGIN..COMMIT runs on the connection its statements use.
    static CONNECTION: std::cell::RefCell<Option<std::rc::Rc<Connection>>> = const { std::cell::RefCell::new(None) };
}

fn db_err(e: impl std::fmt::Debug) -> DbError {
    DbError::from_message(format!("{e:?}"))
}

/// Splits a migration file into statements (our migrations have no `;`
/// inside literals; comments are dropped).
fn statements(sql: &str) -> Vec<String> {
    let cleaned: String = sql.lines().map(|l| l.split("--").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    cleaned.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// Applies embedded migrations not yet recorded in `d1_migrations` (the
/// same ledger wrangler keeps), each in a transaction. Idempotent.
pub fn migrate() -> Result<(), DbError> {
    if MIGRATED.with(Cell::get) {
        return Ok(());
    }
    let conn = Connection::open_default().map_err(db_err)?;
    // Spin may give every request a fresh instance, so the steady state is
    // one read: which migrations are applied already.
    let applied: Vec<String> = match conn.execute("SELECT name FROM d1_migrations", &[]) {
        Ok(r) => r
            .rows
            .iter()
            .filter_map(|row| match row.values.first() {
                Some(SqlValue::Text(n)) => Some(n.clone()),
                _ => None,
            })
            .collect(),
        Err(_) => {
            conn.execute(
                "CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE,
                 applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
                &[],
            )
            .map_err(db_err)?;
            Vec::new()
        }
    };
    for (name, sql) in migrations::MIGRATIONS.iter().filter(|(n, _)| !applied.iter().any(|a| a == n)) {
        conn.execute("PRAGMA foreign_keys = ON", &[]).map_err(db_err)?;
        conn.execute("BEGIN IMMEDIATE", &[]).map_err(db_err)?;
        // Another instance may have applied it meanwhile: the ledger decides.
        let done = conn
            .execute("SELECT 1 FROM d1_migrations WHERE name = ?", &[SqlValue::Text(name.to_string())])
            .map_err(db_err)?;
        if !done.rows.is_empty() {
            conn.execute("COMMIT", &[]).map_err(db_err)?;
            continue;
        }
        let result = statements(sql).iter().try_for_each(|s| conn.execute(s, &[]).map(|_| ())).and_then(|_| {
            conn.execute("INSERT INTO d1_migrations (name) VALUES (?)", &[SqlValue::Text(name.to_string())]).map(|_| ())
        });
        match result {
            Ok(()) => {
                conn.execute("COMMIT", &[]).map_err(db_err)?;
            }
            Err(e) => {
                let _ = conn.execute("ROLLBACK", &[]);
                return Err(DbError::other(format!("{name}: {e:?}")));
            }
        }
    }
    MIGRATED.with(|m| m.set(true));
    Ok(())
}

/// The client address Spin reports (`spin-client-addr`, set by the
/// runtime from the connection), without its port.
/// The request as the core takes it. The body is read as a stream: one
/// declared too large is not read at all (the core answers 413 from the
/// header), any other at most one chunk past the limit.
pub async fn to_http(req: IncomingRequest) -> Option<http::Request<Vec<u8>>> {
    let method = http::Method::from_bytes(req.method().to_string().as_bytes()).ok()?;
    let mut b = http::Request::builder().method(method).uri(req.uri());
    let mut declared = None;
    for (name, value) in req.headers().entries() {
        if name.eq_ignore_ascii_case("content-length") {
            declared = String::from_utf8(value.clone()).ok();
        }
        b = b.header(name, value);
    }
    // The request target: a path (with its query), or an absolute URL.
    let target = req.uri();
    let path = target.split_once("://").map_or(target.as_str(), |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]));
    let limit = body_limit(path);
    let body = if declared_too_large(declared.as_deref(), limit) {
        Vec::new()
    } else {
        read_capped(req.into_body_stream(), limit).await
    };
    b.body(body).ok().map(with_client_ip)
}

fn with_client_ip(mut req: http::Request<Vec<u8>>) -> http::Request<Vec<u8>> {
    let ip = req
        .headers()
        .get("spin-client-addr")
        .and_then(|v| v.to_str().ok())
        .map(|a| a.rsplit_once(':').map_or(a, |(h, _)| h).trim_matches(['[', ']']).to_string())
        .unwrap_or_else(|| "unknown".into());
    req.extensions_mut().insert(ClientIp(ip));
    req
}

fn to_sql(v: &Value) -> SqlValue {
    match v {
        Value::Null => SqlValue::Null,
        Value::Integer(i) => SqlValue::Integer(*i),
        Value::Real(f) => SqlValue::Real(*f),
        Value::Text(s) => SqlValue::Text(s.clone()),
    }
}

pub struct SpinDb;

impl SpinDb {
    fn run(conn: &Connection, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let params: Vec<SqlValue> = params.iter().map(to_sql).collect();
        let result = conn.execute(sql, &params).map_err(db_err)?;
        Ok(result
            .rows
            .iter()
            .map(|r| Row {
                columns: result
                    .columns
                    .iter()
                    .zip(&r.values)
                    .map(|(c, v)| {
                        let v = match v {
                            SqlValue::Null => Value::Null,
                            SqlValue::Integer(i) => Value::Integer(*i),
                            SqlValue::Real(f) => Value::Real(*f),
                            SqlValue::Text(s) => Value::Text(s.clone()),
                            SqlValue::Blob(b) => Value::Text(String::from_utf8_lossy(b).into_owned()),
                        };
                        (c.clone(), v)
                    })
                    .collect(),
            })
            .collect())
    }

    fn changes(conn: &Connection) -> Result<u64, DbError> {
        let r = conn.execute("SELECT changes() AS n", &[]).map_err(db_err)?;
        Ok(match r.rows.first().and_then(|row| row.values.first()) {
            Some(SqlValue::Integer(n)) => *n as u64,
            _ => 0,
        })
    }

    fn open() -> Result<std::rc::Rc<Connection>, DbError> {
        if let Some(c) = CONNECTION.with(|c| c.borrow().clone()) {
            return Ok(c);
        }
        let conn = Connection::open_default().map_err(db_err)?;
        // Enforced per connection, as D1 does always.
        conn.execute("PRAGMA foreign_keys = ON", &[]).map_err(db_err)?;
        let conn = std::rc::Rc::new(conn);
        CONNECTION.with(|c| *c.borrow_mut() = Some(conn.clone()));
        Ok(conn)
    }
}

impl Db for SpinDb {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        Self::run(&*Self::open()?, sql, params)
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let conn = Self::open()?;
        Self::run(&conn, sql, params)?;
        Self::changes(&conn)
    }

    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<u64>, DbError> {
        let conn = Self::open()?;
        conn.execute("BEGIN IMMEDIATE", &[]).map_err(db_err)?;
        let mut counts = Vec::with_capacity(statements.len());
        for s in &statements {
            match Self::run(&conn, &s.sql, &s.params).and_then(|_| Self::changes(&conn)) {
                Ok(n) => counts.push(n),
                Err(e) => {
                    let _ = conn.execute("ROLLBACK", &[]);
                    return Err(e);
                }
            }
        }
        conn.execute("COMMIT", &[]).map_err(db_err)?;
        Ok(counts)
    }
}

pub struct SpinKv;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl Kv for SpinKv {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        let store = Store::open_default().map_err(|e| KvError(format!("{e:?}")))?;
        let Some(raw) = store.get(key).map_err(|e| KvError(format!("{e:?}")))? else { return Ok(None) };
        let raw = String::from_utf8(raw).map_err(|e| KvError(e.to_string()))?;
        match raw.split_once('|') {
            Some((exp, value)) if exp.parse::<i64>().is_ok_and(|e| e > now_ms()) => Ok(Some(value.to_string())),
            _ => Ok(None),
        }
    }

    async fn put(&self, key: &str, value: &str, ttl_secs: u64) -> Result<(), KvError> {
        let store = Store::open_default().map_err(|e| KvError(format!("{e:?}")))?;
        let expires = now_ms() + ttl_secs as i64 * 1000;
        store.set(key, format!("{expires}|{value}").as_bytes()).map_err(|e| KvError(format!("{e:?}")))
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        let store = Store::open_default().map_err(|e| KvError(format!("{e:?}")))?;
        store.delete(key).map_err(|e| KvError(format!("{e:?}")))
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        now_ms()
    }
}

pub struct WasiRng;

impl Rng for WasiRng {
    fn fill(&self, buf: &mut [u8]) {
        getrandom::getrandom(buf).expect("wasi:random is available");
    }
}

/// Events go to the outbox table, drained by the actions host.
pub struct OutboxEvents;

impl Events for OutboxEvents {
    async fn publish(&self, event_json: &str) -> Result<(), EventsError> {
        let st = tessera_core::logs::outbox_statement(event_json, now_ms());
        SpinDb.execute(&st.sql, &st.params).await.map(|_| ()).map_err(|e| EventsError(e.to_string()))
    }
}

pub struct SpinOutbound;

impl Outbound for SpinOutbound {
    async fn send(&self, req: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, OutboundError> {
        spin_sdk::http::send(req).await.map_err(|e| OutboundError(e.to_string()))
    }
}

pub struct SpinVariables;

impl SpinVariables {
    fn get(name: &str) -> Option<String> {
        // Spin variable names are lowercase.
        spin_sdk::variables::get(&name.to_ascii_lowercase()).ok().filter(|v| !v.is_empty())
    }
}

impl Secrets for SpinVariables {
    fn secret(&self, name: &str) -> Option<Secret<String>> {
        Self::get(name).map(Secret::new)
    }
    fn var(&self, name: &str) -> Option<String> {
        Self::get(name)
    }
}

pub struct SpinHost;

impl SpinHost {
    pub fn new() -> Self {
        SpinHost
    }

    pub fn report(&self, message: &str) {
        eprintln!("tessera: {message}");
    }
}

impl Host for SpinHost {
    type Db = SpinDb;
    type Kv = SpinKv;
    type Clock = SystemClock;
    type Rng = WasiRng;
    type Events = OutboxEvents;
    type Outbound = SpinOutbound;
    type Secrets = SpinVariables;

    fn db(&self) -> &SpinDb {
        &SpinDb
    }
    fn kv(&self) -> &SpinKv {
        &SpinKv
    }
    fn clock(&self) -> &SystemClock {
        &SystemClock
    }
    fn rng(&self) -> &WasiRng {
        &WasiRng
    }
    fn events(&self) -> &OutboxEvents {
        &OutboxEvents
    }
    fn outbound(&self) -> &SpinOutbound {
        &SpinOutbound
    }
    fn secrets(&self) -> &SpinVariables {
        &SpinVariables
    }
    fn report_error(&self, message: &str) {
        self.report(message);
    }
}
