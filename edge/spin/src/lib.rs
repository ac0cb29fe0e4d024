//! The Spin entry point: convert to `http` types, call the core, convert
//! back. All behaviour lives in `tessera-core`; the adapters beside this
//! file map `Host` onto Spin's SQLite, key-value, variables and outbound
//! HTTP.

mod adapters;

use spin_sdk::http_component;
use tessera_core::web::render::Render;

#[http_component]
async fn handle(req: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
    let host = adapters::SpinHost::new();
    if let Err(e) = adapters::migrate() {
        host.report(&format!("applying migrations: {e}"));
        return tessera_core::error::Error::server("the database is not ready").to_problem();
    }
    let req = adapters::with_client_ip(req);
    tessera_core::handle(req, &host).await
}
