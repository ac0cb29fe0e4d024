//! The Workers entry point: convert to `http` types, call the core, convert
//! back. All behaviour lives in `tessera-core`.

mod adapters;
mod es256;
mod glue;
mod outbox;

use std::future::Future;
use std::task;

use tessera_core::logs::delivery;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use worker::{
    event, Context, Env, MessageBatch, MessageBuilder, MessageExt, QueueRetryOptionsBuilder, Result, ScheduleContext,
    ScheduledEvent,
};

/// The fetch handler, exported under the name worker-build wires to the
/// entrypoint's `fetch` (as `#[event(fetch)]` would), but not `async`: the
/// request's future is polled once at once, and a route that finishes
/// without waiting on I/O (the health check, a 404, a cached document)
/// returns its `Response` itself. Only one that has to wait goes to
/// wasm-bindgen's executor and answers with a promise; the runtime takes
/// either. That skips, for such a route, the promise, the microtask and the
/// task wake-up an async export costs on every request.
#[wasm_bindgen]
pub fn fetch(req: web_sys::Request, env: Env, ctx: worker::worker_sys::Context) -> JsValue {
    let mut answer = Box::pin(answer(req, env, Context::new(ctx)));
    // A no-op waker is enough for the first poll: a future that is pending
    // is polled again by the executor below, and every future stores the
    // waker of its latest poll (`Future::poll`'s contract).
    match answer.as_mut().poll(&mut task::Context::from_waker(task::Waker::noop())) {
        task::Poll::Ready(resp) => resp.into(),
        task::Poll::Pending => wasm_bindgen_futures::future_to_promise(async move { Ok(answer.await.into()) }).into(),
    }
}

async fn answer(req: web_sys::Request, env: Env, ctx: Context) -> web_sys::Response {
    let started = tessera_core::cache::generation();
    let answered = async {
        let host = adapters::WorkersHost::new(&env, Some(&ctx))?;
        let core_req = adapters::to_request(&req).await?;
        let resp = tessera_core::handle_request(core_req, &host).await;
        Ok::<_, worker::Error>(glue::response(resp, &req, started))
    };
    match answered.await {
        Ok(resp) => resp,
        Err(e) => {
            // What `#[event(fetch)]` answers on an error of the adapter (not
            // of the core, which answers every error itself).
            worker::console_error!("tessera: {e}");
            glue::internal_error(&req)
        }
    }
}

/// The cron trigger (`[triggers]` in wrangler.toml): scheduled maintenance
/// (signing-key rotation, housekeeping, audit retention).
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let host = match adapters::WorkersHost::new(&env, None) {
        Ok(host) => host,
        Err(e) => return worker::console_error!("tessera: scheduled maintenance failed: {e}"),
    };
    if let Err(e) = tessera_core::usecases::maintenance::run(&host).await {
        worker::console_error!("tessera: scheduled maintenance failed: {e:?}");
    }
    // A safety net for log streams: whatever is due and was not woken for
    // (a lost wake-up message) goes out at least every cron period.
    if let Err(e) = delivery::deliver_due(&host, &worker_id()).await {
        worker::console_error!("tessera: log-stream delivery failed: {e:?}");
    }
}

/// The queue consumer (`[[queues.consumers]]` in wrangler.toml) of both the
/// events queue and its dead-letter queue: a message carries the audit
/// events of many requests (`outbox`), some to store in the audit table
/// first (from a request that wrote nothing else), or is `{"wake": true}`,
/// a timer this consumer set itself.
/// Events are queued for their streams in D1 and acknowledged; then every
/// stream's due events are delivered. A failed delivery stays in D1 with its
/// backoff, and a delayed wake-up message (Queues' own delay) brings the
/// consumer back when it is due. If D1 itself fails, the whole batch is
/// retried by Queues, and after `max_retries` lands in the dead-letter
/// queue, which this same consumer drains once D1 is back.
#[event(queue)]
async fn queue(batch: MessageBatch<serde_json::Value>, env: Env, _ctx: Context) -> Result<()> {
    let host = adapters::WorkersHost::new(&env, None)?;
    let messages = batch.messages()?;
    let mut events: Vec<String> = Vec::new();
    let mut unstored: Vec<String> = Vec::new();
    for m in &messages {
        if !outbox::read(m.body(), &mut events, &mut unstored) {
            worker::console_error!("tessera: the events queue held a message the consumer cannot read (id {})", m.id());
        }
    }
    // Stored before anything is acknowledged, idempotently by event id, so a
    // retried batch neither loses nor doubles an event.
    if let Err(e) = tessera_core::logs::store_unstored(&host, &unstored).await {
        worker::console_error!("tessera: storing audit events failed: {e:?}");
        batch.retry_all_with_options(&QueueRetryOptionsBuilder::new().with_delay_seconds(5).build());
        return Ok(());
    }
    if let Err(e) = delivery::ingest(&host, &events).await {
        worker::console_error!("tessera: queuing events for log streams failed: {e:?}");
        batch.retry_all_with_options(&QueueRetryOptionsBuilder::new().with_delay_seconds(30).build());
        return Ok(());
    }
    batch.ack_all();
    // Signups among the events start post-user-registration, off the
    // signup's request path (at most once: the events are acknowledged).
    if let Err(e) = tessera_core::usecases::actions::after_events(&host, &events).await {
        worker::console_error!("tessera: post-user-registration failed: {e:?}");
    }
    let report = match delivery::deliver_due(&host, &worker_id()).await {
        Ok(r) => r,
        Err(e) => {
            worker::console_error!("tessera: log-stream delivery failed: {e:?}");
            delivery::Report { failed: 1, ..Default::default() }
        }
    };
    // Retries are due later, or another invocation held a stream with due
    // events: come back when the next is due.
    if report.failed > 0 || report.busy > 0 {
        wake_later(&host, &env).await;
    }
    Ok(())
}

/// Sends the consumer a wake-up message delayed until the next retry is due
/// (Queues delays up to 12 hours).
async fn wake_later(host: &adapters::WorkersHost<'_>, env: &Env) {
    let due = match delivery::next_due(host).await {
        Ok(Some(due)) => due,
        _ => return,
    };
    let seconds = ((due - worker::Date::now().as_millis() as i64) / 1000 + 1).clamp(1, 43_200) as u32;
    let Ok(queue) = env.queue("EVENTS") else { return };
    let wake = MessageBuilder::new(serde_json::json!({ "wake": true })).delay_seconds(seconds).build();
    if let Err(e) = queue.send(wake).await {
        worker::console_error!("tessera: scheduling the next log-stream retry failed: {e}");
    }
}

/// This isolate's name in stream leases.
fn worker_id() -> String {
    let mut r = [0u8; 6];
    let _ = getrandom::getrandom(&mut r);
    format!("workers-{}", tessera_core::crypto::hex(&r))
}
