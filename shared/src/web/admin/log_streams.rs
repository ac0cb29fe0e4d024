//! The admin UI's log-stream screens: the streams with their delivery
//! status, a form to create one, and per stream its settings (secrets
//! masked), recent deliveries, dead letters, and the pause, resume, test,
//! redeliver and delete actions. Every form is CSRF-protected.

use http::StatusCode;

use super::{admin, admin_post, audit, render, select, small_form, Admin};
use crate::error::{Error, ErrorKind, Result};
use crate::host::Host;
use crate::logs::filter::{known_categories, Filter};
use crate::logs::sinks::Sink;
use crate::logs::streams::{self, LogStream, StreamSpec, StreamUpdate};
use crate::logs::{attempts, dead_letters, delivery};
use crate::web::csrf;
use crate::web::request::Form;
use crate::web::response::{see_other, HttpResponse};
use crate::web::router::{Ctx, RouteId};
use crate::web::ui::{escape, message};

const TYPES: [(&str, &str); 5] = [
    ("http", "HTTP (JSON array or NDJSON)"),
    ("webhook", "Webhook (HMAC-signed)"),
    ("datadog", "Datadog"),
    ("splunk", "Splunk HEC"),
    ("s3", "Amazon S3 or S3-compatible"),
];

fn list_field(form: &Form, name: &str) -> Vec<String> {
    form.get(name)
        .unwrap_or("")
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn filters_from(form: &Form) -> Filter {
    Filter {
        categories: list_field(form, "categories"),
        types: list_field(form, "types"),
        min_severity: form.get("min_severity").filter(|s| !s.is_empty()).map(str::to_owned),
    }
}

fn suspend_after(form: &Form) -> Result<Option<i64>> {
    match form.get("suspend_after_seconds").map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| Error::bad_request("suspend_after_seconds must be a whole number")),
    }
}

/// The sink settings of the create form, for the chosen type. The one
/// secret field is the sink's own (authorization, webhook secret, API key,
/// HEC token, secret access key).
fn spec_from(form: &Form) -> Result<StreamSpec> {
    let kind = form.get("type").unwrap_or("http");
    let mut sink = serde_json::Map::new();
    let mut put = |key: &str, field: &str| {
        if let Some(v) = form.get(field).map(str::trim).filter(|v| !v.is_empty()) {
            sink.insert(key.to_string(), v.into());
        }
    };
    match kind {
        "http" => {
            put("url", "url");
            put("authorization", "secret");
            put("content_format", "content_format");
        }
        "webhook" => {
            put("url", "url");
            put("secret", "secret");
        }
        "datadog" => {
            put("api_key", "secret");
            put("site", "site");
            put("service", "service");
            put("tags", "tags");
        }
        "splunk" => {
            put("url", "url");
            put("token", "secret");
            put("index", "index");
            put("sourcetype", "sourcetype");
        }
        _ => {
            put("bucket", "bucket");
            put("region", "region");
            put("prefix", "prefix");
            put("endpoint", "endpoint");
            put("access_key_id", "access_key_id");
            put("secret_access_key", "secret");
        }
    }
    if kind == "http" && form.get("gzip").is_some() {
        sink.insert("gzip".into(), true.into());
    }
    if kind == "s3" && form.get("path_style").is_some() {
        sink.insert("path_style".into(), true.into());
    }
    let spec = serde_json::json!({
        "name": form.get("name").unwrap_or(""),
        "type": kind,
        "sink": sink,
        "filters": filters_from(form),
        "suspend_after_seconds": suspend_after(form)?,
    });
    serde_json::from_value(spec).map_err(|e| Error::bad_request(format!("the stream's settings: {e}")))
}

fn input(id: &str, label: &str, kind: &str, value: &str) -> String {
    format!(
        "<label for=\"{id}\">{}</label><input id=\"{id}\" name=\"{id}\" type=\"{kind}\" value=\"{}\">",
        escape(label),
        escape(value)
    )
}

const SEVERITIES: [(&str, &str); 4] =
    [("", "Every severity"), ("info", "info and above"), ("warning", "warning and above"), ("error", "error only")];

fn filter_fields(f: &Filter) -> String {
    format!(
        "{}<p class=\"hint\">Categories: {}</p>{}{}",
        input("categories", "Categories (comma-separated; empty: all)", "text", &f.categories.join(", ")),
        escape(&known_categories().join(", ")),
        input("types", "Event type codes (comma-separated, e.g. fp, seccft)", "text", &f.types.join(", ")),
        select("min_severity", "Least severity", &SEVERITIES, f.min_severity.as_deref().unwrap_or("")),
    )
}

fn create_form(action: &str, csrf_token: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{}\" id=\"stream-form\"><input type=\"hidden\" name=\"{}\" value=\"{}\">\
         {}{}{}{}<p class=\"hint\">The secret is the authorization header (HTTP), the signing secret (webhook; \
         leave empty to have one generated), the API key (Datadog), the HEC token (Splunk) or the secret access key (S3).</p>\
         <fieldset><legend>HTTP</legend>{}<label><input type=\"checkbox\" name=\"gzip\"> gzip</label></fieldset>\
         <fieldset><legend>Datadog</legend>{}{}{}</fieldset>\
         <fieldset><legend>Splunk</legend>{}{}</fieldset>\
         <fieldset><legend>S3</legend>{}{}{}{}{}<label><input type=\"checkbox\" name=\"path_style\"> Path-style URLs</label></fieldset>\
         <fieldset><legend>Filters</legend>{}</fieldset>{}<button type=\"submit\">Create stream</button></form>",
        escape(action),
        csrf::FIELD,
        escape(csrf_token),
        input("name", "Name", "text", ""),
        select("type", "Destination", &TYPES, "http"),
        input("url", "URL (HTTP, webhook, Splunk collector)", "url", ""),
        input("secret", "Secret", "password", ""),
        select("content_format", "Format", &[("json_array", "JSON array"), ("json_lines", "NDJSON")], "json_array"),
        select(
            "site",
            "Site",
            &crate::logs::sinks::DATADOG_SITES.map(|s| (s, s)),
            crate::logs::sinks::DATADOG_SITES[0]
        ),
        input("service", "Service", "text", "tessera"),
        input("tags", "Tags (ddtags)", "text", ""),
        input("index", "Index", "text", ""),
        input("sourcetype", "Source type", "text", "tessera:log"),
        input("bucket", "Bucket", "text", ""),
        input("region", "Region", "text", ""),
        input("prefix", "Key prefix", "text", ""),
        input("endpoint", "Endpoint (S3-compatible stores)", "url", ""),
        input("access_key_id", "Access key id", "text", ""),
        filter_fields(&Filter::default()),
        input("suspend_after_seconds", "Suspend after failing for (seconds)", "number", "86400"),
    )
}

fn status_cells(s: &LogStream) -> String {
    let st = &s.status;
    format!(
        "<td class=\"state-{state}\">{state}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
        st.events_delivered,
        st.events_failed,
        st.events_pending,
        st.dead_letters,
        st.lag_ms / 1000,
        state = escape(&st.state),
    )
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
    let all = streams::list(cx.host, t.id(), None, 100).await?;
    let rows: String = all
        .iter()
        .map(|s| {
            format!(
                "<tr><td><a href=\"{}\">{}</a></td><td>{}</td>{}</tr>",
                escape(&t.path(&format!("/admin/log-streams/{}", s.id))),
                escape(&s.name),
                escape(&s.sink_type),
                status_cells(s)
            )
        })
        .collect();
    let table = if all.is_empty() {
        "<p id=\"no-streams\">No log streams yet.</p>".to_string()
    } else {
        format!(
            "<table id=\"streams\"><tr><th>Name</th><th>Type</th><th>State</th><th>Delivered</th><th>Failed</th>\
             <th>Pending</th><th>Dead letters</th><th>Lag (s)</th></tr>{rows}</table>"
        )
    };
    let body = format!(
        "{}{table}<h2>New stream</h2>{}",
        notice.map(|(k, m)| message(k, m)).unwrap_or_default(),
        create_form(&t.path("/admin/log-streams"), &a.csrf)
    );
    let mut r = render(t, a, "Log streams", &body);
    if notice.is_some_and(|(k, _)| k == "error") {
        *r.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(r)
}

pub async fn create<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let (a, form) = match admin_post(cx).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let t = cx.tenant();
    let created = match spec_from(&form) {
        Ok(spec) => streams::create(cx.host, t.id(), spec).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(c) => {
            audit(cx, &a, "log stream created", serde_json::json!({ "stream_id": c.stream.id })).await?;
            let notice = match &c.generated_secret {
                Some(s) => format!("Stream created. Its webhook signing secret, shown only this once: {s}"),
                None => "Stream created.".to_string(),
            };
            show_with(cx, &a, c.stream.id.as_str(), Some(("notice", &notice))).await
        }
        Err(e) if e.kind == ErrorKind::InvalidRequest => list_with(cx, &a, Some(("error", &e.detail))).await,
        Err(e) => Err(e),
    }
}

pub async fn show<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let a = match admin(cx).await? {
        Ok(a) => a,
        Err(r) => return Ok(r),
    };
    show_with(cx, &a, cx.param("stream_id"), None).await
}

async fn load<H: Host>(cx: &Ctx<'_, H>, id: &str) -> Result<LogStream> {
    streams::get(cx.host, cx.tenant().id(), id).await?.ok_or_else(|| Error::not_found("no such log stream"))
}

async fn show_with<H: Host>(
    cx: &Ctx<'_, H>,
    a: &Admin,
    id: &str,
    notice: Option<(&str, &str)>,
) -> Result<HttpResponse> {
    let t = cx.tenant();
    let s = load(cx, id).await?;
    let base = t.path(&format!("/admin/log-streams/{}", s.id));
    let st = &s.status;
    let status = format!(
        "<table id=\"status\"><tr><th>State</th><th>Delivered</th><th>Failed</th><th>Pending</th><th>Dead letters</th>\
         <th>Lag (s)</th></tr><tr>{}</tr></table><p>Last success: {}. Last error: {}</p>",
        status_cells(&s),
        escape(st.last_success_at.as_deref().unwrap_or("never")),
        escape(&match (&st.last_error, &st.last_error_at) {
            (Some(e), Some(at)) => format!("{e} ({at})"),
            _ => "none".into(),
        }),
    );
    let toggle = if st.state == "active" {
        small_form(&format!("{base}/pause"), &a.csrf, &[], "Pause")
    } else {
        small_form(&format!("{base}/resume"), &a.csrf, &[], "Resume")
    };
    let actions = format!(
        "<div id=\"actions\">{toggle} {}</div>",
        small_form(&format!("{base}/test"), &a.csrf, &[], "Send a test event")
    );
    let edit = format!(
        "<form method=\"post\" action=\"{}\" id=\"edit-form\"><input type=\"hidden\" name=\"{}\" value=\"{}\">{}{}{}{}\
         <button type=\"submit\">Save changes</button></form>",
        escape(&base),
        csrf::FIELD,
        escape(&a.csrf),
        input("name", "Name", "text", &s.name),
        input("secret", "New secret (empty: keep the current one)", "password", ""),
        filter_fields(&s.filters),
        input(
            "suspend_after_seconds",
            "Suspend after failing for (seconds)",
            "number",
            &s.suspend_after_seconds.to_string()
        ),
    );
    let deliveries = attempts::deliveries(cx.host, t.id(), s.id.as_str(), 20).await?;
    let delivery_rows: String = deliveries
        .iter()
        .map(|d| {
            format!(
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&d.date),
                escape(&d.batch_id),
                d.attempt,
                d.events,
                d.status_code.map(|c| c.to_string()).unwrap_or_default(),
                d.duration_ms,
                escape(d.error.as_deref().unwrap_or("")),
            )
        })
        .collect();
    let dead = dead_letters::list(cx.host, t.id(), s.id.as_str(), None, 50).await?;
    let dead_rows: String = dead
        .iter()
        .map(|d| {
            format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&d.log_id),
                escape(d.event["type"].as_str().unwrap_or("")),
                d.attempts,
                escape(&d.last_error),
                small_form(&format!("{base}/redeliver"), &a.csrf, &[("log_id", &d.log_id)], "Redeliver"),
            )
        })
        .collect();
    let dead_html = if dead.is_empty() {
        "<p id=\"no-dead-letters\">No dead letters.</p>".to_string()
    } else {
        format!(
            "<div>{}</div><table id=\"dead-letters\"><tr><th>Event</th><th>Type</th><th>Attempts</th><th>Last error</th><th></th></tr>{dead_rows}</table>",
            small_form(&format!("{base}/redeliver"), &a.csrf, &[], "Redeliver all")
        )
    };
    let body = format!(
        "{}<p>Type: <strong>{}</strong> · id <code id=\"stream-id\">{}</code></p>{status}{actions}\
         <h2>Settings</h2><pre id=\"sink\">{}</pre>{edit}\
         <h2>Recent deliveries</h2><table id=\"deliveries\"><tr><th>When</th><th>Batch</th><th>Attempt</th><th>Events</th>\
         <th>Status</th><th>ms</th><th>Error</th></tr>{delivery_rows}</table>\
         <h2>Dead letters</h2>{dead_html}<h2>Danger zone</h2>{}",
        notice.map(|(k, m)| message(k, m)).unwrap_or_default(),
        escape(&s.sink_type),
        escape(s.id.as_str()),
        escape(&serde_json::to_string_pretty(&s.sink).unwrap_or_default()),
        small_form(&format!("{base}/delete"), &a.csrf, &[], "Delete this stream"),
    );
    let mut r = render(t, a, &s.name, &body);
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
    let s = load(cx, cx.param("stream_id")).await?;
    let sink = form.get("secret").filter(|v| !v.is_empty()).map(|secret| {
        let field = Sink::secret_fields(&s.sink_type).first().copied().unwrap_or("secret");
        let mut m = serde_json::Map::new();
        m.insert(field.to_string(), secret.into());
        m
    });
    let change = suspend_after(&form).map(|suspend_after_seconds| StreamUpdate {
        name: form.get("name").map(str::to_owned),
        sink,
        filters: Some(filters_from(&form)),
        suspend_after_seconds,
    });
    let updated = match change {
        Ok(c) => streams::update(cx.host, t.id(), s.id.as_str(), c).await,
        Err(e) => Err(e),
    };
    match updated {
        Ok(_) => {
            audit(cx, &a, "log stream updated", serde_json::json!({ "stream_id": s.id })).await?;
            show_with(cx, &a, s.id.as_str(), Some(("notice", "Saved."))).await
        }
        Err(e) if e.kind == ErrorKind::InvalidRequest => {
            show_with(cx, &a, s.id.as_str(), Some(("error", &e.detail))).await
        }
        Err(e) => Err(e),
    }
}

/// Pause, resume, test, redeliver or delete.
pub async fn action<H: Host>(id: RouteId, cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let (a, form) = match admin_post(cx).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let t = cx.tenant();
    let s = load(cx, cx.param("stream_id")).await?;
    let stream = s.id.as_str();
    let details = serde_json::json!({ "stream_id": stream });
    let notice = match id {
        RouteId::AdminLogStreamPause | RouteId::AdminLogStreamResume => {
            let resume = id == RouteId::AdminLogStreamResume;
            streams::set_active(cx.host, t.id(), stream, resume).await?;
            audit(cx, &a, if resume { "log stream resumed" } else { "log stream paused" }, details).await?;
            if resume { "Resumed: waiting events go out now." } else { "Paused: events wait until you resume." }
                .to_string()
        }
        RouteId::AdminLogStreamTest => {
            if s.status.state != "active" {
                return show_with(cx, &a, stream, Some(("error", "Resume the stream before sending a test event.")))
                    .await;
            }
            let log_id = delivery::send_test(cx.host, t.id(), stream).await;
            audit(cx, &a, "log stream test event sent", details).await?;
            format!("Test event {log_id} is on its way; see the deliveries below.")
        }
        RouteId::AdminLogStreamRedeliver => {
            let one = form.get("log_id").filter(|v| !v.is_empty());
            let n = dead_letters::redeliver(cx.host, t.id(), stream, one).await?;
            audit(cx, &a, "dead letters redelivered", serde_json::json!({ "stream_id": stream, "events": n })).await?;
            format!("{n} dead-lettered event(s) queued again.")
        }
        _ => {
            streams::delete(cx.host, t.id(), stream).await?;
            audit(cx, &a, "log stream deleted", details).await?;
            return Ok(see_other(&t.path("/admin/log-streams")));
        }
    };
    show_with(cx, &a, stream, Some(("notice", &notice))).await
}
