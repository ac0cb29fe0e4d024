//! The Workers entry point: convert to `http` types, call the core, convert
//! back. All behaviour lives in `tessera-core`.

mod adapters;

use worker::{event, Context, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let host = adapters::WorkersHost::new(&env)?;
    let http_req = adapters::to_http(&mut req).await?;
    let resp = tessera_core::handle(http_req, &host).await;
    adapters::from_http(resp)
}
