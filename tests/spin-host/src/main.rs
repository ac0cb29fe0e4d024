//! A Spin-compatible TEST host — not a Spin replacement.
//!
//! The Spin CLI and runtime cannot be installed where Tessera is built, so
//! this serves a spin-sdk (WASI 0.2) component the way `spin up` would for
//! the parts Tessera uses: `wasi:http/incoming-handler` over HTTP/1.1, with
//! `fermyon:spin/sqlite`, `key-value` and `variables` implemented over
//! rusqlite and the environment (`SPIN_VARIABLE_<NAME>`, as Spin reads
//! them). Each request gets a fresh store, as in Spin.
//!
//! Usage: `tessera-spin-test-host <component.wasm> <listen-addr> <sqlite-file>`

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::server::conn::http1;
use tokio::net::TcpListener;
use wasmtime::component::{Component, Linker, Resource, ResourceTable};
use wasmtime::{bail, Config, Engine, Result, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

wasmtime::component::bindgen!({
    path: "wit",
    world: "tessera:spin-test-host/host",
    with: {
        "fermyon:spin/sqlite.connection": SqliteConnection,
        "fermyon:spin/key-value.store": KvStore,
    },
});

use fermyon::spin::{key_value, sqlite, variables};

/// An open database connection (one per `open`, like Spin).
pub struct SqliteConnection(rusqlite::Connection);
/// The `default` key-value store, kept in the same SQLite file.
pub struct KvStore;

struct Shared {
    db_path: String,
    variables: HashMap<String, String>,
}

struct State {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    shared: Arc<Shared>,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: Default::default() }
    }
}

fn connect(path: &str) -> rusqlite::Result<rusqlite::Connection> {
    let c = rusqlite::Connection::open(path)?;
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(c)
}

fn to_sql(v: sqlite::Value) -> rusqlite::types::Value {
    match v {
        sqlite::Value::Integer(i) => rusqlite::types::Value::Integer(i),
        sqlite::Value::Real(f) => rusqlite::types::Value::Real(f),
        sqlite::Value::Text(s) => rusqlite::types::Value::Text(s),
        sqlite::Value::Blob(b) => rusqlite::types::Value::Blob(b),
        sqlite::Value::Null => rusqlite::types::Value::Null,
    }
}

fn run(
    conn: &rusqlite::Connection,
    statement: &str,
    params: Vec<sqlite::Value>,
) -> rusqlite::Result<sqlite::QueryResult> {
    let mut stmt = conn.prepare(statement)?;
    let columns: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let params: Vec<rusqlite::types::Value> = params.into_iter().map(to_sql).collect();
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut values = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            values.push(match r.get_ref(i)? {
                rusqlite::types::ValueRef::Null => sqlite::Value::Null,
                rusqlite::types::ValueRef::Integer(i) => sqlite::Value::Integer(i),
                rusqlite::types::ValueRef::Real(f) => sqlite::Value::Real(f),
                rusqlite::types::ValueRef::Text(t) => sqlite::Value::Text(String::from_utf8_lossy(t).into_owned()),
                rusqlite::types::ValueRef::Blob(b) => sqlite::Value::Blob(b.to_vec()),
            });
        }
        out.push(sqlite::RowResult { values });
    }
    Ok(sqlite::QueryResult { columns, rows: out })
}

impl sqlite::Host for State {}

impl sqlite::HostConnection for State {
    fn open(&mut self, database: String) -> std::result::Result<Resource<SqliteConnection>, sqlite::Error> {
        if database != "default" {
            return Err(sqlite::Error::NoSuchDatabase);
        }
        let c = connect(&self.shared.db_path).map_err(|e| sqlite::Error::Io(e.to_string()))?;
        self.table.push(SqliteConnection(c)).map_err(|e| sqlite::Error::Io(e.to_string()))
    }

    fn execute(
        &mut self,
        conn: Resource<SqliteConnection>,
        statement: String,
        parameters: Vec<sqlite::Value>,
    ) -> std::result::Result<sqlite::QueryResult, sqlite::Error> {
        let c = self.table.get(&conn).map_err(|e| sqlite::Error::Io(e.to_string()))?;
        run(&c.0, &statement, parameters).map_err(|e| sqlite::Error::Io(e.to_string()))
    }

    fn drop(&mut self, conn: Resource<SqliteConnection>) -> wasmtime::Result<()> {
        self.table.delete(conn)?;
        Ok(())
    }
}

impl key_value::Host for State {}

impl State {
    fn kv(&self) -> std::result::Result<rusqlite::Connection, key_value::Error> {
        connect(&self.shared.db_path).map_err(|e| key_value::Error::Other(e.to_string()))
    }
}

impl key_value::HostStore for State {
    fn open(&mut self, label: String) -> std::result::Result<Resource<KvStore>, key_value::Error> {
        if label != "default" {
            return Err(key_value::Error::NoSuchStore);
        }
        self.table.push(KvStore).map_err(|e| key_value::Error::Other(e.to_string()))
    }

    fn get(&mut self, _s: Resource<KvStore>, key: String) -> std::result::Result<Option<Vec<u8>>, key_value::Error> {
        let c = self.kv()?;
        let mut stmt = c
            .prepare("SELECT value FROM spin_kv WHERE key = ?1")
            .map_err(|e| key_value::Error::Other(e.to_string()))?;
        let mut rows = stmt.query([key]).map_err(|e| key_value::Error::Other(e.to_string()))?;
        match rows.next().map_err(|e| key_value::Error::Other(e.to_string()))? {
            Some(r) => Ok(Some(r.get(0).map_err(|e| key_value::Error::Other(e.to_string()))?)),
            None => Ok(None),
        }
    }

    fn set(&mut self, _s: Resource<KvStore>, key: String, value: Vec<u8>) -> std::result::Result<(), key_value::Error> {
        self.kv()?
            .execute(
                "INSERT INTO spin_kv (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                rusqlite::params![key, value],
            )
            .map(|_| ())
            .map_err(|e| key_value::Error::Other(e.to_string()))
    }

    fn delete(&mut self, _s: Resource<KvStore>, key: String) -> std::result::Result<(), key_value::Error> {
        self.kv()?
            .execute("DELETE FROM spin_kv WHERE key = ?1", [key])
            .map(|_| ())
            .map_err(|e| key_value::Error::Other(e.to_string()))
    }

    fn exists(&mut self, s: Resource<KvStore>, key: String) -> std::result::Result<bool, key_value::Error> {
        Ok(self.get(s, key)?.is_some())
    }

    fn get_keys(&mut self, _s: Resource<KvStore>) -> std::result::Result<Vec<String>, key_value::Error> {
        let c = self.kv()?;
        let mut stmt =
            c.prepare("SELECT key FROM spin_kv ORDER BY key").map_err(|e| key_value::Error::Other(e.to_string()))?;
        let keys = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| key_value::Error::Other(e.to_string()))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| key_value::Error::Other(e.to_string()))?;
        Ok(keys)
    }

    fn drop(&mut self, s: Resource<KvStore>) -> wasmtime::Result<()> {
        self.table.delete(s)?;
        Ok(())
    }
}

impl variables::Host for State {
    fn get(&mut self, name: String) -> std::result::Result<String, variables::Error> {
        self.shared.variables.get(&name).cloned().ok_or(variables::Error::Undefined(name))
    }
}

struct Server {
    pre: ProxyPre<State>,
    shared: Arc<Shared>,
}

impl Server {
    async fn handle(
        &self,
        mut req: hyper::Request<hyper::body::Incoming>,
        peer: SocketAddr,
    ) -> Result<hyper::Response<HyperOutgoingBody>> {
        // What Spin tells components about the client.
        req.headers_mut().insert("spin-client-addr", peer.to_string().parse()?);
        let mut store = Store::new(
            self.pre.engine(),
            State {
                wasi: WasiCtx::builder().inherit_stderr().build(),
                http: WasiHttpCtx::new(),
                table: ResourceTable::new(),
                shared: self.shared.clone(),
            },
        );
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let req = store.data_mut().http().new_incoming_request(Scheme::Http, req)?;
        let out = store.data_mut().http().new_response_outparam(sender)?;
        let pre = self.pre.clone();
        let task = tokio::task::spawn(async move {
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy.wasi_http_incoming_handler().call_handle(store, req, out).await
        });
        match receiver.await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) => Err(wasmtime::format_err!("{e:?}")),
            Err(_) => {
                let e = match task.await {
                    Ok(Ok(())) => bail!("the component never set a response"),
                    Ok(Err(e)) => e,
                    Err(e) => e.into(),
                };
                Err(e.context("the component never set a response"))
            }
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, component, listen, db_path] = args.as_slice() else {
        bail!("usage: tessera-spin-test-host <component.wasm> <listen-addr> <sqlite-file>");
    };
    let setup = connect(db_path)?;
    setup.execute_batch(
        "PRAGMA journal_mode = WAL; CREATE TABLE IF NOT EXISTS spin_kv (key TEXT PRIMARY KEY, value BLOB NOT NULL);",
    )?;
    drop(setup);
    let variables: HashMap<String, String> = std::env::vars()
        .filter_map(|(k, v)| k.strip_prefix("SPIN_VARIABLE_").map(|n| (n.to_ascii_lowercase(), v)))
        .collect();

    let engine = Engine::new(&Config::new())?;
    let component = Component::from_file(&engine, component).map_err(|e| e.context(format!("loading {component}")))?;
    let mut linker: Linker<State> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    sqlite::add_to_linker::<State, wasmtime::component::HasSelf<State>>(&mut linker, |s| s)?;
    key_value::add_to_linker::<State, wasmtime::component::HasSelf<State>>(&mut linker, |s| s)?;
    variables::add_to_linker::<State, wasmtime::component::HasSelf<State>>(&mut linker, |s| s)?;
    let pre = ProxyPre::new(linker.instantiate_pre(&component)?)?;
    let server = Arc::new(Server { pre, shared: Arc::new(Shared { db_path: db_path.clone(), variables }) });

    let listener = TcpListener::bind(listen.as_str()).await?;
    println!("tessera-spin-test-host listening on http://{}", listener.local_addr()?);
    loop {
        let (client, peer) = listener.accept().await?;
        let server = server.clone();
        tokio::task::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let server = server.clone();
                async move { server.handle(req, peer).await }
            });
            if let Err(e) = http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(client), service).await
            {
                eprintln!("serving {peer}: {e:?}");
            }
        });
    }
}
