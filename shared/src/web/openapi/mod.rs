//! The OpenAPI 3.1 document of every HTTP route. It is generated from the
//! route table and the request/response types ([`generate`], native only,
//! behind the `openapi` feature), committed as `openapi/openapi.json`, and
//! served from that file (minified at build time, `shared/build.rs`) at
//! `/openapi.json`. A domain test fails when the
//! committed file and the generated one differ, or when a route and a path
//! do not match.

#[cfg(feature = "openapi")]
pub mod generate;

use http::StatusCode;

use crate::error::Result;
use crate::host::Host;
use crate::web::response::HttpResponse;
use crate::web::router::Ctx;

/// The committed document, as served.
pub const SPEC_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.min.json"));

pub async fn get<H: Host>(_cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    Ok(http::Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("cache-control", "public, max-age=300")
        .header("access-control-allow-origin", "*")
        .body(SPEC_JSON.as_bytes().to_vec())
        .expect("static headers"))
}
