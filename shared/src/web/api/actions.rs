//! `/api/v1/actions` and `/api/v1/triggers`: a tenant's actions (draft,
//! deploy, versions, rollback, secrets, test runs, execution records) and
//! each trigger's ordered bindings and failure mode.

use http::StatusCode;

use super::{audit, Caller};
use crate::actions::decision;
use crate::actions::execute;
use crate::actions::store::{self, ActionSpec, ActionUpdate, TriggerUpdate};
use crate::actions::Trigger;
use crate::error::{Error, ErrorKind, Result};
use crate::host::Host;
use crate::web::response::{json, no_content, HttpResponse};
use crate::web::router::{Ctx, RouteId};
use crate::web::schema::{ActionTest, ActionTestResult};

fn not_found() -> Error {
    Error::not_found("no such action")
}

fn to_json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

fn trigger_param<H: Host>(cx: &Ctx<'_, H>) -> Result<Trigger> {
    let t = cx.param("trigger");
    Trigger::parse(t).ok_or_else(|| {
        let all: Vec<&str> = Trigger::ALL.iter().map(|t| t.as_str()).collect();
        Error::not_found(format!("no trigger {t}; triggers are {}", all.join(", ")))
    })
}

pub async fn dispatch<H: Host>(id: RouteId, cx: &Ctx<'_, H>, who: &Caller) -> Result<HttpResponse> {
    let t = cx.tenant().id();
    let action = cx.param("action_id");
    match id {
        RouteId::ActionsList => {
            let page = cx.req.page()?;
            let rows = store::list(cx.host, t, page.after.as_deref(), page.limit + 1).await?;
            let (items, next) = page.finish(rows, |a| a.id.as_str());
            Ok(json(StatusCode::OK, &serde_json::json!({ "actions": items, "next_cursor": next })))
        }
        RouteId::ActionsCreate => {
            let spec: ActionSpec = cx.req.json()?;
            let a = store::create(cx.host, t, spec).await?;
            audit(cx, who, "action created", serde_json::json!({ "action_id": a.id, "trigger": a.trigger })).await?;
            Ok(json(StatusCode::CREATED, &to_json(&a)))
        }
        RouteId::ActionGet => {
            let a = store::get(cx.host, t, action).await?.ok_or_else(not_found)?;
            Ok(json(StatusCode::OK, &to_json(&a)))
        }
        RouteId::ActionUpdate => {
            let change: ActionUpdate = cx.req.json()?;
            let secrets: Vec<String> = change.secrets.iter().flat_map(|m| m.keys().cloned()).collect();
            let a = store::update(cx.host, t, action, change).await?.ok_or_else(not_found)?;
            // Secret names only, never values.
            audit(cx, who, "action updated", serde_json::json!({ "action_id": a.id, "secrets_changed": secrets }))
                .await?;
            Ok(json(StatusCode::OK, &to_json(&a)))
        }
        RouteId::ActionDelete => {
            if !store::delete(cx.host, t, action).await? {
                return Err(not_found());
            }
            audit(cx, who, "action deleted", serde_json::json!({ "action_id": action })).await?;
            Ok(no_content())
        }
        RouteId::ActionDeploy => {
            let v = store::deploy(cx.host, t, action).await?.ok_or_else(not_found)?;
            audit(cx, who, "action deployed", serde_json::json!({ "action_id": action, "version": v.number })).await?;
            Ok(json(StatusCode::CREATED, &to_json(&v)))
        }
        RouteId::ActionVersions => {
            store::get(cx.host, t, action).await?.ok_or_else(not_found)?;
            let versions = store::versions(cx.host, t, action).await?;
            Ok(json(StatusCode::OK, &serde_json::json!({ "versions": versions })))
        }
        RouteId::ActionRollback => {
            let number: i64 =
                cx.param("version").parse().map_err(|_| Error::not_found("no such version (versions are numbers)"))?;
            store::get(cx.host, t, action).await?.ok_or_else(not_found)?;
            let v = store::roll_back(cx.host, t, action, number)
                .await?
                .ok_or_else(|| Error::not_found(format!("the action has no version {number}")))?;
            audit(cx, who, "action rolled back", serde_json::json!({ "action_id": action, "version": number })).await?;
            Ok(json(StatusCode::OK, &to_json(&v)))
        }
        RouteId::ActionTest => test(cx, action).await,
        RouteId::ActionExecutions => {
            store::get(cx.host, t, action).await?.ok_or_else(not_found)?;
            let page = cx.req.page()?;
            let rows = store::executions(cx.host, t, action, page.after.as_deref(), page.limit + 1).await?;
            let (items, next) = page.finish(rows, |e| e.id.as_str());
            Ok(json(StatusCode::OK, &serde_json::json!({ "executions": items, "next_cursor": next })))
        }
        RouteId::TriggersList => {
            let mut all = Vec::new();
            for trigger in Trigger::ALL {
                all.push(store::trigger_settings(cx.host, t, trigger).await?);
            }
            Ok(json(StatusCode::OK, &serde_json::json!({ "triggers": all })))
        }
        RouteId::TriggerGet => {
            let s = store::trigger_settings(cx.host, t, trigger_param(cx)?).await?;
            Ok(json(StatusCode::OK, &to_json(&s)))
        }
        RouteId::TriggerUpdate => {
            let trigger = trigger_param(cx)?;
            let change: TriggerUpdate = cx.req.json()?;
            let s = store::update_trigger(cx.host, t, trigger, change).await?;
            let order: Vec<&str> = s.bindings.iter().map(|b| b.action_id.as_str()).collect();
            audit(
                cx,
                who,
                "trigger bindings updated",
                serde_json::json!({ "trigger": trigger, "failure_mode": s.failure_mode, "bindings": order }),
            )
            .await?;
            Ok(json(StatusCode::OK, &to_json(&s)))
        }
        _ => Err(Error::not_found("no such route")),
    }
}

/// Runs a version (or the draft) against a sample event: nothing is
/// recorded and nothing applied; the decisions come back with the edge's
/// verdict on them.
async fn test<H: Host>(cx: &Ctx<'_, H>, action: &str) -> Result<HttpResponse> {
    let t = cx.tenant().id();
    let body: ActionTest = if cx.req.body.is_empty() { Default::default() } else { cx.req.json()? };
    let a = store::get(cx.host, t, action).await?.ok_or_else(not_found)?;
    let code = store::code_of(cx.host, t, action, body.version)
        .await?
        .ok_or_else(|| Error::not_found("the action has no such version"))?;
    let event = body.event.unwrap_or_else(|| serde_json::json!({}));
    if !event.is_object() {
        return Err(Error::bad_request("event must be a JSON object"));
    }
    let r = execute::test(cx.host, t, action, body.version.unwrap_or(0), a.trigger, &code, event)
        .await
        .map_err(|e| Error::new(ErrorKind::Unavailable, e))?;
    let validation_error = match (&r.error, decision::validate(a.trigger, &r.decisions)) {
        (None, Err(e)) => Some(e.0),
        _ => None,
    };
    let out = ActionTestResult {
        decisions: r.decisions,
        logs: r.logs,
        logs_truncated: r.logs_truncated,
        error: r.error.map(|e| format!("{}: {}", e.kind.as_str(), e.message)),
        validation_error,
        duration_ms: r.duration_us as f64 / 1000.0,
    };
    Ok(json(StatusCode::OK, &to_json(&out)))
}
