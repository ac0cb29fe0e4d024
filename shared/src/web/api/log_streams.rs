//! `/api/v1/log-streams`: a tenant's log streams, their delivery status,
//! dead letters and test events, through the management API.

use http::StatusCode;

use super::{audit, Caller};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::logs::{attempts, dead_letters, delivery, streams};
use crate::web::response::{json, no_content, HttpResponse};
use crate::web::router::{Ctx, RouteId};
use crate::web::schema::{Redelivered, TestEvent};

fn not_found() -> Error {
    Error::not_found("no such log stream")
}

pub async fn dispatch<H: Host>(id: RouteId, cx: &Ctx<'_, H>, who: &Caller) -> Result<HttpResponse> {
    let t = cx.tenant().id();
    let stream = cx.param("stream_id");
    match id {
        RouteId::LogStreamsList => {
            let page = cx.req.page()?;
            let rows = streams::list(cx.host, t, page.after.as_deref(), page.limit + 1).await?;
            let (items, next) = page.finish(rows, |s| s.id.as_str());
            Ok(json(StatusCode::OK, &serde_json::json!({ "log_streams": items, "next_cursor": next })))
        }
        RouteId::LogStreamsCreate => {
            let spec: streams::StreamSpec = cx.req.json()?;
            let created = streams::create(cx.host, t, spec).await?;
            let s = &created.stream;
            audit(cx, who, "log stream created", serde_json::json!({ "stream_id": s.id, "type": s.sink_type })).await?;
            let mut body = serde_json::to_value(s).unwrap_or_default();
            if let Some(secret) = created.generated_secret {
                // Generated here, so shown this once.
                body["sink"]["secret"] = secret.into();
            }
            Ok(json(StatusCode::CREATED, &body))
        }
        RouteId::LogStreamGet => {
            let s = streams::get(cx.host, t, stream).await?.ok_or_else(not_found)?;
            Ok(json(StatusCode::OK, &serde_json::to_value(&s).unwrap_or_default()))
        }
        RouteId::LogStreamUpdate => {
            let change: streams::StreamUpdate = cx.req.json()?;
            let s = streams::update(cx.host, t, stream, change).await?.ok_or_else(not_found)?;
            audit(cx, who, "log stream updated", serde_json::json!({ "stream_id": s.id })).await?;
            Ok(json(StatusCode::OK, &serde_json::to_value(&s).unwrap_or_default()))
        }
        RouteId::LogStreamDelete => {
            if !streams::delete(cx.host, t, stream).await? {
                return Err(not_found());
            }
            audit(cx, who, "log stream deleted", serde_json::json!({ "stream_id": stream })).await?;
            Ok(no_content())
        }
        RouteId::LogStreamPause | RouteId::LogStreamResume => {
            let active = id == RouteId::LogStreamResume;
            let s = streams::set_active(cx.host, t, stream, active).await?.ok_or_else(not_found)?;
            let what = if active { "log stream resumed" } else { "log stream paused" };
            audit(cx, who, what, serde_json::json!({ "stream_id": stream })).await?;
            Ok(json(StatusCode::OK, &serde_json::to_value(&s).unwrap_or_default()))
        }
        RouteId::LogStreamTest => {
            let s = streams::get(cx.host, t, stream).await?.ok_or_else(not_found)?;
            if s.status.state != "active" {
                return Err(Error::conflict(format!("the stream is {}; resume it first", s.status.state)));
            }
            let log_id = delivery::send_test(cx.host, t, stream).await;
            audit(cx, who, "log stream test event sent", serde_json::json!({ "stream_id": stream, "log_id": log_id }))
                .await?;
            Ok(json(StatusCode::ACCEPTED, &serde_json::to_value(TestEvent { log_id }).unwrap_or_default()))
        }
        RouteId::LogStreamDeliveries => {
            streams::get(cx.host, t, stream).await?.ok_or_else(not_found)?;
            let page = cx.req.page()?;
            let items = attempts::deliveries(cx.host, t, stream, page.limit).await?;
            Ok(json(StatusCode::OK, &serde_json::json!({ "deliveries": items })))
        }
        RouteId::LogStreamDeadLetters => {
            streams::get(cx.host, t, stream).await?.ok_or_else(not_found)?;
            let page = cx.req.page()?;
            let rows = dead_letters::list(cx.host, t, stream, page.after.as_deref(), page.limit + 1).await?;
            let (items, next) = page.finish(rows, |d| d.log_id.as_str());
            Ok(json(StatusCode::OK, &serde_json::json!({ "dead_letters": items, "next_cursor": next })))
        }
        RouteId::LogStreamRedeliverAll | RouteId::LogStreamRedeliverOne => {
            streams::get(cx.host, t, stream).await?.ok_or_else(not_found)?;
            let one = (id == RouteId::LogStreamRedeliverOne).then(|| cx.param("log_id"));
            let n = dead_letters::redeliver(cx.host, t, stream, one).await?;
            if one.is_some() && n == 0 {
                return Err(Error::not_found("no such dead letter"));
            }
            audit(cx, who, "dead letters redelivered", serde_json::json!({ "stream_id": stream, "events": n })).await?;
            Ok(json(StatusCode::OK, &serde_json::to_value(Redelivered { redelivered: n }).unwrap_or_default()))
        }
        _ => Err(Error::not_found("no such route")),
    }
}
