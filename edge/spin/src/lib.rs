//! The Spin entry point: convert to `http` types, call the core, convert
//! back. All behaviour lives in `tessera-core`; the adapters beside this
//! file map `Host` onto Spin's SQLite, key-value, variables and outbound
//! HTTP.

mod adapters;

use spin_sdk::http::IncomingRequest;
use spin_sdk::http_component;
use tessera_core::web::render::Render;

#[http_component]
async fn handle(req: IncomingRequest) -> http::Response<Vec<u8>> {
    let host = adapters::SpinHost::new();
    if let Err(e) = adapters::migrate() {
        host.report(&format!("applying migrations: {e}"));
        return tessera_core::error::Error::server("the database is not ready").to_problem();
    }
    match adapters::to_http(req).await {
        Some(req) => tessera_core::handle(req, &host).await,
        None => tessera_core::error::Error::bad_request("the request line is not valid HTTP").to_problem(),
    }
}
