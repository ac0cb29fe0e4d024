//! The admin UI's actions screens: the tenant's actions with a form to
//! write a new one, each trigger's bound actions in order with its failure
//! mode, and per action its code (saved as a draft, then deployed), secrets
//! (write-only), versions with rollback, and recent executions. Every form
//! is CSRF-protected.

use http::StatusCode;

use super::{admin, admin_post, audit, render, small_form, Admin};
use crate::actions::store::{self, Action, ActionSpec, ActionUpdate, BindingSpec, FailureMode, TriggerUpdate};
use crate::actions::{protocol::Runtime, Trigger};
use crate::error::{Error, ErrorKind, Result};
use crate::host::Host;
use crate::web::csrf;
use crate::web::response::{see_other, HttpResponse};
use crate::web::router::{Ctx, RouteId};
use crate::web::ui::{escape, message};

/// What a new action of each trigger starts from.
fn template(trigger: Trigger) -> String {
    let body = match trigger {
        Trigger::PostLogin => "  api.idToken.setCustomClaim('https://example.com/email', event.user.email);",
        Trigger::PreLogin | Trigger::PreUserRegistration => {
            "  if (event.request.geoip.countryCode === 'XX') api.access.deny('blocked country', 'Not available in your country.');"
        }
        Trigger::CredentialsExchange => "  api.accessToken.setCustomClaim('https://example.com/client', event.client.name);",
        Trigger::PostUserRegistration => "  console.log('new user', event.user.email);",
    };
    format!("exports.{} = async (event, api) => {{\n{body}\n}};\n", trigger.handler_name())
}

fn trigger_options(selected: Trigger) -> String {
    Trigger::ALL
        .iter()
        .map(|t| {
            let sel = if *t == selected { " selected" } else { "" };
            format!("<option value=\"{0}\"{sel}>{0}</option>", t.as_str())
        })
        .collect()
}

fn hidden_csrf(token: &str) -> String {
    format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", csrf::FIELD, escape(token))
}

pub async fn list<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let a = match admin(cx).await? {
        Ok(a) => a,
        Err(r) => return Ok(r),
    };
    list_with(cx, &a, None).await
}

async fn list_with<H: Host>(cx: &Ctx<'_, H>, a: &Admin, notice: Option<(&str, &str)>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let all = store::list(cx.host, t.id(), None, 100).await?;
    let rows: String = all
        .iter()
        .map(|x| {
            format!(
                "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&t.path(&format!("/admin/actions/{}", x.id))),
                escape(&x.name),
                x.trigger,
                x.runtime.as_str(),
                x.deployed_version.map(|v| format!("v{v}")).unwrap_or_else(|| "not deployed".into()),
                if x.draft_changed { "draft changed" } else { "" },
            )
        })
        .collect();
    let table = if all.is_empty() {
        "<p id=\"no-actions\">No actions yet.</p>".to_string()
    } else {
        format!(
            "<table id=\"actions\"><tr><th>Name</th><th>Trigger</th><th>Runtime</th><th>Deployed</th><th></th></tr>{rows}</table>"
        )
    };
    let mut triggers = String::new();
    for trigger in Trigger::ALL {
        triggers.push_str(&trigger_form(cx, a, trigger, &all).await?);
    }
    let create = format!(
        "<form method=\"post\" action=\"{}\" id=\"action-form\">{}\
         <label for=\"name\">Name</label><input id=\"name\" name=\"name\" type=\"text\">\
         <label for=\"trigger\">Trigger</label><select id=\"trigger\" name=\"trigger\">{}</select>\
         <label for=\"code\">Code (JavaScript; an empty box starts from the trigger's template)</label>\
         <textarea id=\"code\" name=\"code\" rows=\"8\"></textarea>\
         <button type=\"submit\">Create action</button></form>",
        escape(&t.path("/admin/actions")),
        hidden_csrf(&a.csrf),
        trigger_options(Trigger::PostLogin),
    );
    let body = format!(
        "{}{table}<h2>Triggers</h2><p class=\"hint\">Deployed actions run in the order given; a failure \
         (an error, a timeout, the actions host unreachable) is skipped under <em>open</em> and refuses the \
         flow under <em>closed</em>.</p>{triggers}<h2>New action</h2>{create}",
        notice.map(|(k, m)| message(k, m)).unwrap_or_default(),
    );
    let mut r = render(t, a, "Actions", &body);
    if notice.is_some_and(|(k, _)| k == "error") {
        *r.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(r)
}

/// One trigger's form: its failure mode and, for each deployed action of
/// that trigger, whether it is bound, its place and whether it is enabled.
async fn trigger_form<H: Host>(cx: &Ctx<'_, H>, a: &Admin, trigger: Trigger, all: &[Action]) -> Result<String> {
    let t = cx.tenant();
    let settings = store::trigger_settings(cx.host, t.id(), trigger).await?;
    let candidates: Vec<&Action> =
        all.iter().filter(|x| x.trigger == trigger && x.deployed_version.is_some()).collect();
    let rows: String = candidates
        .iter()
        .map(|x| {
            let bound = settings.bindings.iter().position(|b| b.action_id == x.id);
            let enabled = bound.is_none_or(|i| settings.bindings[i].enabled);
            let order = bound.map(|i| i + 1).unwrap_or(settings.bindings.len() + 1);
            format!(
                "<tr><td>{name}</td><td><label><input type=\"checkbox\" name=\"bind_{id}\"{b}> bound</label></td>\
                 <td><label>order <input type=\"number\" min=\"1\" max=\"99\" name=\"order_{id}\" value=\"{order}\" style=\"width:4rem\"></label></td>\
                 <td><label><input type=\"checkbox\" name=\"enabled_{id}\"{e}> enabled</label></td></tr>",
                name = escape(&x.name),
                id = escape(x.id.as_str()),
                b = if bound.is_some() { " checked" } else { "" },
                e = if enabled { " checked" } else { "" },
            )
        })
        .collect();
    let table = if candidates.is_empty() {
        "<p class=\"hint\">No deployed action of this trigger.</p>".to_string()
    } else {
        format!("<table>{rows}</table>")
    };
    let mode = |m: FailureMode, label: &str| {
        let sel = if settings.failure_mode == m { " selected" } else { "" };
        let v = if m == FailureMode::Open { "open" } else { "closed" };
        format!("<option value=\"{v}\"{sel}>{label}</option>")
    };
    Ok(format!(
        "<form method=\"post\" action=\"{}\" id=\"trigger-{trigger}\"><h3>{trigger}</h3>{}{table}\
         <label for=\"failure_mode-{trigger}\">When an action fails</label>\
         <select id=\"failure_mode-{trigger}\" name=\"failure_mode\">{}{}</select>\
         <button type=\"submit\">Save {trigger}</button></form>",
        escape(&t.path(&format!("/admin/triggers/{trigger}"))),
        hidden_csrf(&a.csrf),
        mode(FailureMode::Open, "open: go on without it"),
        mode(FailureMode::Closed, "closed: refuse the flow"),
    ))
}

pub async fn create<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let (a, form) = match admin_post(cx).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let t = cx.tenant();
    let trigger = match form.get("trigger").and_then(Trigger::parse) {
        Some(tr) => tr,
        None => return list_with(cx, &a, Some(("error", "Choose a trigger."))).await,
    };
    let code = match form.get("code").map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => c.to_owned(),
        None => template(trigger),
    };
    let spec = ActionSpec {
        name: form.get("name").unwrap_or("").to_owned(),
        trigger,
        runtime: Some(Runtime::Js),
        code,
        secrets: Default::default(),
    };
    match store::create(cx.host, t.id(), spec).await {
        Ok(created) => {
            audit(cx, &a, "action created", serde_json::json!({ "action_id": created.id })).await?;
            // Post/redirect/get: the new action's own page, at its address.
            Ok(see_other(&t.path(&format!("/admin/actions/{}", created.id))))
        }
        Err(e) if matches!(e.kind, ErrorKind::InvalidRequest | ErrorKind::Conflict) => {
            list_with(cx, &a, Some(("error", &e.detail))).await
        }
        Err(e) => Err(e),
    }
}

pub async fn show<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let a = match admin(cx).await? {
        Ok(a) => a,
        Err(r) => return Ok(r),
    };
    show_with(cx, &a, cx.param("action_id"), None).await
}

async fn load<H: Host>(cx: &Ctx<'_, H>, id: &str) -> Result<Action> {
    store::get(cx.host, cx.tenant().id(), id).await?.ok_or_else(|| Error::not_found("no such action"))
}

async fn show_with<H: Host>(
    cx: &Ctx<'_, H>,
    a: &Admin,
    id: &str,
    notice: Option<(&str, &str)>,
) -> Result<HttpResponse> {
    let t = cx.tenant();
    let x = load(cx, id).await?;
    let base = t.path(&format!("/admin/actions/{}", x.id));
    let code_field = match x.runtime {
        Runtime::Js => format!(
            "<label for=\"code\">Code (JavaScript, <code>exports.{}</code>)</label>\
             <textarea id=\"code\" name=\"code\" rows=\"16\">{}</textarea>",
            x.trigger.handler_name(),
            escape(&x.code)
        ),
        Runtime::Wasm => format!(
            "<p>A WebAssembly component ({} KB base64, sha256 <code>{}</code>); upload a new one through the API.</p>",
            x.code.len() / 1024,
            escape(&x.code_hash[..16])
        ),
    };
    let secrets = if x.secrets.is_empty() {
        "none".to_string()
    } else {
        x.secrets.iter().map(|s| format!("<code>{}</code>", escape(s))).collect::<Vec<_>>().join(" ")
    };
    let edit = format!(
        "<form method=\"post\" action=\"{}\" id=\"edit-form\">{}\
         <label for=\"name\">Name</label><input id=\"name\" name=\"name\" type=\"text\" value=\"{}\">{code_field}\
         <p>Secrets (handed to runs as <code>event.secrets</code>; values are never shown): {secrets}</p>\
         <label for=\"secret_name\">Set a secret: name</label><input id=\"secret_name\" name=\"secret_name\" type=\"text\">\
         <label for=\"secret_value\">value (empty: remove it)</label><input id=\"secret_value\" name=\"secret_value\" type=\"password\">\
         <button type=\"submit\">Save draft</button></form>",
        escape(&base),
        hidden_csrf(&a.csrf),
        escape(&x.name),
    );
    let state = match x.deployed_version {
        Some(v) if x.draft_changed => format!("Version {v} runs; the draft has changes that are not deployed."),
        Some(v) => format!("Version {v} runs; the draft is deployed."),
        None => "Not deployed yet: bound triggers need a deployed version.".into(),
    };
    let versions = store::versions(cx.host, t.id(), x.id.as_str()).await?;
    let version_rows: String = versions
        .iter()
        .map(|v| {
            let action = if v.deployed {
                "running".to_string()
            } else {
                small_form(
                    &format!("{base}/rollback"),
                    &a.csrf,
                    &[("version", &v.number.to_string())],
                    "Roll back to this",
                )
            };
            format!(
                "<tr><td>v{}</td><td>{}</td><td><code>{}</code></td><td>{action}</td></tr>",
                v.number,
                escape(&v.created_at),
                escape(&v.code_hash[..12])
            )
        })
        .collect();
    let runs = store::executions(cx.host, t.id(), x.id.as_str(), None, 20).await?;
    let run_rows: String = runs
        .iter()
        .map(|r| {
            let logs: String = r.logs.iter().map(|l| format!("{}: {}\n", l.level, l.message)).collect();
            format!(
                "<tr class=\"outcome-{o}\"><td>{}</td><td>v{}</td><td>{o}</td><td>{:.1} ms</td><td>{}</td><td><pre>{}</pre></td></tr>",
                escape(&r.created_at),
                r.version,
                r.duration_ms,
                escape(r.error.as_deref().unwrap_or("")),
                escape(&logs),
                o = escape(&r.outcome),
            )
        })
        .collect();
    let executions = if runs.is_empty() {
        "<p id=\"no-executions\">No runs yet.</p>".to_string()
    } else {
        format!(
            "<table id=\"executions\"><tr><th>When</th><th>Version</th><th>Outcome</th><th>Duration</th><th>Error</th><th>Console</th></tr>{run_rows}</table>"
        )
    };
    let body = format!(
        "{}<p>Trigger <code>{}</code>, runtime <code>{}</code>. <span id=\"state\">{}</span></p>\
         <div id=\"deploy\">{}</div>{edit}<h2>Versions</h2><table id=\"versions\">{version_rows}</table>\
         <h2>Recent executions</h2>{executions}<h2>Delete</h2>{}",
        notice.map(|(k, m)| message(k, m)).unwrap_or_default(),
        x.trigger,
        x.runtime.as_str(),
        escape(&state),
        small_form(&format!("{base}/deploy"), &a.csrf, &[], "Deploy the draft"),
        small_form(&format!("{base}/delete"), &a.csrf, &[], "Delete this action"),
    );
    let mut r = render(t, a, &format!("Action {}", x.name), &body);
    if notice.is_some_and(|(k, _)| k == "error") {
        *r.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(r)
}

pub async fn update<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let (a, form) = match admin_post(cx).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let t = cx.tenant();
    let x = load(cx, cx.param("action_id")).await?;
    let mut change = ActionUpdate {
        name: form.get("name").map(str::to_owned),
        code: form.get("code").filter(|_| x.runtime == Runtime::Js).map(str::to_owned),
        secrets: None,
    };
    if let Some(name) = form.get("secret_name").map(str::trim).filter(|n| !n.is_empty()) {
        let value = form.get("secret_value").filter(|v| !v.is_empty()).map(str::to_owned);
        change.secrets = Some([(name.to_owned(), value)].into_iter().collect());
    }
    let secret = change.secrets.as_ref().and_then(|s| s.keys().next().cloned());
    match store::update(cx.host, t.id(), x.id.as_str(), change).await {
        Ok(_) => {
            audit(cx, &a, "action updated", serde_json::json!({ "action_id": x.id, "secret_changed": secret })).await?;
            show_with(cx, &a, x.id.as_str(), Some(("notice", "Draft saved."))).await
        }
        Err(e) if matches!(e.kind, ErrorKind::InvalidRequest | ErrorKind::Conflict) => {
            show_with(cx, &a, x.id.as_str(), Some(("error", &e.detail))).await
        }
        Err(e) => Err(e),
    }
}

/// Deploy, roll back, delete.
pub async fn action<H: Host>(id: RouteId, cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let (a, form) = match admin_post(cx).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let t = cx.tenant();
    let x = load(cx, cx.param("action_id")).await?;
    match id {
        RouteId::AdminActionDeploy => {
            let v = store::deploy(cx.host, t.id(), x.id.as_str())
                .await?
                .ok_or_else(|| Error::not_found("no such action"))?;
            audit(cx, &a, "action deployed", serde_json::json!({ "action_id": x.id, "version": v.number })).await?;
            show_with(cx, &a, x.id.as_str(), Some(("notice", &format!("Version {} deployed.", v.number)))).await
        }
        RouteId::AdminActionRollback => {
            let Some(n) = form.get("version").and_then(|v| v.parse::<i64>().ok()) else {
                return show_with(cx, &a, x.id.as_str(), Some(("error", "Choose a version."))).await;
            };
            match store::roll_back(cx.host, t.id(), x.id.as_str(), n).await? {
                Some(_) => {
                    audit(cx, &a, "action rolled back", serde_json::json!({ "action_id": x.id, "version": n })).await?;
                    show_with(cx, &a, x.id.as_str(), Some(("notice", &format!("Rolled back: version {n} runs.")))).await
                }
                None => show_with(cx, &a, x.id.as_str(), Some(("error", "No such version."))).await,
            }
        }
        _ => {
            store::delete(cx.host, t.id(), x.id.as_str()).await?;
            audit(cx, &a, "action deleted", serde_json::json!({ "action_id": x.id })).await?;
            list_with(cx, &a, Some(("notice", &format!("Action {} deleted.", x.name)))).await
        }
    }
}

/// Saves a trigger's bindings (bound ones, by their order) and failure mode.
pub async fn update_trigger<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let (a, form) = match admin_post(cx).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let t = cx.tenant();
    let Some(trigger) = Trigger::parse(cx.param("trigger")) else {
        return Err(Error::not_found("no such trigger"));
    };
    let mut bound: Vec<(i64, BindingSpec)> = Vec::new();
    for (name, _) in form.pairs() {
        if let Some(id) = name.strip_prefix("bind_") {
            let order = form.get(&format!("order_{id}")).and_then(|o| o.trim().parse::<i64>().ok()).unwrap_or(99);
            let enabled = form.get(&format!("enabled_{id}")).is_some();
            bound.push((order, BindingSpec { action_id: id.to_owned(), enabled }));
        }
    }
    bound.sort_by_key(|(order, _)| *order);
    let failure_mode = match form.get("failure_mode") {
        Some("closed") => Some(FailureMode::Closed),
        Some("open") => Some(FailureMode::Open),
        _ => None,
    };
    let change = TriggerUpdate { failure_mode, bindings: Some(bound.into_iter().map(|(_, b)| b).collect()) };
    match store::update_trigger(cx.host, t.id(), trigger, change).await {
        Ok(s) => {
            let order: Vec<&str> = s.bindings.iter().map(|b| b.action_id.as_str()).collect();
            audit(cx, &a, "trigger bindings updated", serde_json::json!({ "trigger": trigger, "bindings": order }))
                .await?;
            list_with(cx, &a, Some(("notice", &format!("{trigger} saved.")))).await
        }
        Err(e) if e.kind == ErrorKind::InvalidRequest => list_with(cx, &a, Some(("error", &e.detail))).await,
        Err(e) => Err(e),
    }
}
