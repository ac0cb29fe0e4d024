//! The admin UI's audit log: the tenant's events, newest first, with the
//! filters a log stream takes (category, type, least severity).

use super::{admin, render};
use crate::error::Result;
use crate::host::Host;
use crate::logs::filter::known_categories;
use crate::web::response::HttpResponse;
use crate::web::router::Ctx;
use crate::web::ui::{escape, message};

pub async fn list<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let a = match admin(cx).await? {
        Ok(a) => a,
        Err(r) => return Ok(r),
    };
    let t = cx.tenant();
    let (filter, bad_filter) = match cx.req.log_filter() {
        Ok(f) => (f, None),
        Err(e) => (Default::default(), Some(e)),
    };
    let listed = match bad_filter {
        Some(e) => Err(e),
        None => crate::logs::list(cx.host, t.id(), &filter, 100).await,
    };
    let refused = listed.is_err();
    let (events, error) = match listed {
        Ok(e) => (e, None),
        Err(e) if e.kind == crate::error::ErrorKind::InvalidRequest => (Vec::new(), Some(e.detail)),
        Err(e) => return Err(e),
    };
    let options = |all: &[String], selected: Option<&str>| -> String {
        std::iter::once(String::new())
            .chain(all.iter().cloned())
            .map(|v| {
                let sel = if Some(v.as_str()) == selected { " selected" } else { "" };
                let label = if v.is_empty() { "any".to_string() } else { v.clone() };
                format!("<option value=\"{}\"{sel}>{}</option>", escape(&v), escape(&label))
            })
            .collect()
    };
    let severities = ["info", "warning", "error"].map(String::from);
    // A GET form: reading the log changes nothing, so it needs no CSRF token.
    let form = format!(
        "<form method=\"get\" action=\"{}\" id=\"log-filter\"><label for=\"category\">Category</label>\
         <select id=\"category\" name=\"category\">{}</select>\
         <label for=\"type\">Type code</label><input id=\"type\" name=\"type\" type=\"text\" value=\"{}\">\
         <label for=\"severity\">Least severity</label><select id=\"severity\" name=\"severity\">{}</select>\
         <button type=\"submit\">Filter</button></form>",
        escape(&t.path("/admin/logs")),
        options(&known_categories(), filter.category.as_deref()),
        escape(filter.kind.as_deref().unwrap_or("")),
        options(&severities, filter.min_severity.as_deref()),
    );
    let rows: String = events
        .iter()
        .map(|e| {
            let who = e.user_name.as_deref().or(e.user_id.as_deref()).unwrap_or("");
            let client = e.client_name.as_deref().or(e.client_id.as_deref()).unwrap_or("");
            format!(
                "<tr class=\"sev-{}\"><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&e.severity),
                escape(&e.date),
                escape(&e.kind),
                escape(&e.category),
                escape(&e.description),
                escape(who),
                escape(client),
                escape(&e.ip),
            )
        })
        .collect();
    let body = format!(
        "{}{form}<table id=\"logs\"><tr><th>When</th><th>Type</th><th>Category</th><th>Description</th><th>User</th>\
         <th>Client</th><th>IP</th></tr>{rows}</table>",
        error.map(|e| message("error", &e)).unwrap_or_default()
    );
    let mut page = render(t, &a, "Audit log", &body);
    if refused {
        // The page still renders, with the error above an empty table, but
        // says by its status that the filter was not applied.
        *page.status_mut() = http::StatusCode::BAD_REQUEST;
    }
    Ok(page)
}
