//! The Workers entry point: convert to `http` types, call the core, convert
//! back. All behaviour lives in `tessera-core`.

mod adapters;
mod webcrypto;

use worker::{event, Context, Env, Request, Response, Result, ScheduleContext, ScheduledEvent};

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, ctx: Context) -> Result<Response> {
    let host = adapters::WorkersHost::new(&env, Some(&ctx))?;
    let http_req = adapters::to_http(&mut req).await?;
    let resp = tessera_core::handle(http_req, &host).await;
    adapters::from_http(resp)
}

/// The cron trigger (`[triggers]` in wrangler.toml): scheduled maintenance
/// (signing-key rotation, housekeeping, audit retention).
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let result = match adapters::WorkersHost::new(&env, None) {
        Ok(host) => tessera_core::usecases::maintenance::run(&host).await.map(|_| ()).map_err(|e| format!("{e:?}")),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = result {
        worker::console_error!("tessera: scheduled maintenance failed: {e}");
    }
}
