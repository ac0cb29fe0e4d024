//! The admin UI's SCIM page: the switch, group sync, deprovisioning and the
//! attribute mapping; the base URL to give the identity provider; the live
//! tokens with rotation and revocation, and a form for a new one (its
//! secret shown once, on the page the POST answers with).

use http::StatusCode;

use super::{admin, admin_post, audit, render, select, small_form, Admin};
use crate::error::{Error, ErrorKind, Result};
use crate::host::Host;
use crate::scim::config::{self, AttributeMap, Deprovision, EmailFrom, NameFrom, ScimConfigPatch};
use crate::scim::tokens;
use crate::web::csrf;
use crate::web::request::Form;
use crate::web::response::{see_other, HttpResponse};
use crate::web::router::{Ctx, RouteId};
use crate::web::ui::{escape, message};

fn checkbox(name: &str, label: &str, on: bool) -> String {
    let checked = if on { " checked" } else { "" };
    format!(
        "<label><input type=\"checkbox\" id=\"{name}\" name=\"{name}\" value=\"on\"{checked}> {}</label>",
        escape(label)
    )
}

fn date(ms: Option<i64>) -> String {
    ms.map(crate::scim::datetime).map(|d| d[..16].replace('T', " ")).unwrap_or_else(|| "never".into())
}

fn days(form: &Form, name: &str) -> Result<Option<i64>> {
    match form.get(name).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=366).contains(d))
            .map(|d| Some(d * 86_400_000))
            .ok_or_else(|| Error::bad_request(format!("{name} must be a whole number of days from 1 to 366"))),
    }
}

/// What the page says above the settings: a notice or an error, or a new
/// token's secret (shown this once).
enum Notice<'n> {
    None,
    Error(&'n str),
    NewToken(&'n str, &'n str),
}

async fn page<H: Host>(cx: &Ctx<'_, H>, a: &Admin, notice: Notice<'_>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let c = config::get(cx.host, t.id()).await?;
    let live = tokens::list(cx.host, t.id()).await?;
    let rows: String = live
        .iter()
        .map(|k| {
            let base = format!("/admin/scim/tokens/{}", k.id);
            format!(
                "<tr><td>{}</td><td><code>tsc_{}_…</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
                escape(&k.name),
                escape(&k.prefix),
                date(Some(k.created_at)),
                date(k.expires_at),
                date(k.last_used_at),
                if k.rotated_to.is_none() {
                    small_form(&t.path(&format!("{base}/rotate")), &a.csrf, &[], "Rotate (old one works 1 more day)")
                } else {
                    "<span>rotated</span>".into()
                },
                small_form(&t.path(&format!("{base}/revoke")), &a.csrf, &[], "Revoke"),
            )
        })
        .collect();
    let table = if live.is_empty() {
        "<p id=\"no-tokens\">No SCIM tokens yet.</p>".to_string()
    } else {
        format!(
            "<table id=\"scim-tokens\"><tr><th>Name</th><th>Token</th><th>Created</th><th>Expires</th><th>Last used</th><th></th></tr>{rows}</table>"
        )
    };
    let hidden = format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", csrf::FIELD, escape(&a.csrf));
    let word = |v: serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let settings = format!(
        "<form method=\"post\" action=\"{}\" id=\"scim-settings\">{hidden}{}{}{}{}{}<button type=\"submit\">Save</button></form>",
        escape(&t.path("/admin/scim")),
        checkbox("enabled", "SCIM provisioning is on", c.enabled),
        checkbox("groups_enabled", "Provision groups (/Groups)", c.groups_enabled),
        select(
            "deprovision",
            "When the identity provider deletes a user",
            &[("block", "Block them (keep the account)"), ("delete", "Delete the account")],
            &word(serde_json::to_value(c.deprovision).unwrap_or_default()),
        ),
        select(
            "email_from",
            "The user's email address comes from",
            &[("emails", "the primary of emails (else userName)"), ("userName", "userName")],
            &word(serde_json::to_value(c.attribute_map.email).unwrap_or_default()),
        ),
        select(
            "name_from",
            "The user's name comes from",
            &[("displayName", "displayName (else name)"), ("name", "name.formatted or given + family name")],
            &word(serde_json::to_value(c.attribute_map.name).unwrap_or_default()),
        ),
    );
    let create = format!(
        "<form method=\"post\" action=\"{}\" id=\"scim-token-form\">{hidden}\
         <label for=\"name\">Name (the identity provider)</label><input id=\"name\" name=\"name\" type=\"text\" required>\
         <label for=\"lifetime_days\">Expires after (days; empty: never)</label><input id=\"lifetime_days\" name=\"lifetime_days\" type=\"number\" min=\"1\" max=\"366\">\
         <button type=\"submit\">Create token</button></form>",
        escape(&t.path("/admin/scim/tokens")),
    );
    let top = match notice {
        Notice::None => String::new(),
        Notice::Error(m) => message("error", m),
        Notice::NewToken(what, secret) => format!(
            "<p class=\"notice\" role=\"status\">{}. Copy it now, it is shown only this once: <code id=\"scim-token\">{}</code></p>",
            escape(what),
            escape(secret)
        ),
    };
    let body = format!(
        "{top}<p>SCIM base URL: <code id=\"scim-base-url\">{}</code></p>{settings}<h2>Tokens</h2>{table}<h2>New token</h2>{create}",
        escape(&t.url("/scim/v2")),
    );
    let mut r = render(t, a, "SCIM provisioning", &body);
    if matches!(notice, Notice::Error(_)) {
        *r.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(r)
}

pub async fn show<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    match admin(cx).await? {
        Ok(a) => page(cx, &a, Notice::None).await,
        Err(r) => Ok(r),
    }
}

fn choice<T: for<'de> serde::Deserialize<'de>>(form: &Form, name: &str) -> Result<Option<T>> {
    form.get(name)
        .map(|v| serde_json::from_value(serde_json::Value::String(v.to_owned())))
        .transpose()
        .map_err(|_| Error::bad_request(format!("{name} is not one of the offered choices")))
}

pub async fn update<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let (a, form) = match admin_post(cx).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let t = cx.tenant();
    let patch = (|| -> Result<ScimConfigPatch> {
        let email: Option<EmailFrom> = choice(&form, "email_from")?;
        let name: Option<NameFrom> = choice(&form, "name_from")?;
        Ok(ScimConfigPatch {
            // An unticked checkbox is not sent at all.
            enabled: Some(form.get("enabled").is_some()),
            groups_enabled: Some(form.get("groups_enabled").is_some()),
            deprovision: choice::<Deprovision>(&form, "deprovision")?,
            attribute_map: match (email, name) {
                (Some(email), Some(name)) => Some(AttributeMap { email, name }),
                _ => None,
            },
        })
    })();
    match patch {
        Ok(p) => {
            let c = config::update(cx.host, t.id(), p).await?;
            audit(cx, &a, "SCIM configuration changed", serde_json::to_value(c).unwrap_or_default()).await?;
            Ok(see_other(&t.path("/admin/scim")))
        }
        Err(e) if e.kind == ErrorKind::InvalidRequest => page(cx, &a, Notice::Error(&e.detail)).await,
        Err(e) => Err(e),
    }
}

pub async fn token<H: Host>(id: RouteId, cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let (a, form) = match admin_post(cx).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let t = cx.tenant();
    let token_id = cx.param("token_id");
    let done = match id {
        RouteId::AdminScimTokenCreate => match days(&form, "lifetime_days") {
            Ok(life) => tokens::create(cx.host, t.id(), form.get("name").unwrap_or(""), life).await.map(Some),
            Err(e) => Err(e),
        },
        RouteId::AdminScimTokenRotate => {
            tokens::rotate(cx.host, t.id(), token_id, 86_400_000, None).await?.ok_or_else(not_found).map(Some)
        }
        _ => {
            if !tokens::revoke(cx.host, t.id(), token_id).await? {
                return Err(not_found());
            }
            audit(cx, &a, "SCIM token revoked", serde_json::json!({ "token_id": token_id })).await?;
            return Ok(see_other(&t.path("/admin/scim")));
        }
    };
    match done {
        Ok(Some((token, secret))) => {
            let what = if id == RouteId::AdminScimTokenCreate { "SCIM token created" } else { "SCIM token rotated" };
            audit(cx, &a, what, serde_json::json!({ "token_id": token.id, "prefix": token.prefix })).await?;
            page(cx, &a, Notice::NewToken(what, secret.expose())).await
        }
        Ok(None) => Err(not_found()),
        Err(e) if matches!(e.kind, ErrorKind::InvalidRequest | ErrorKind::Conflict) => {
            page(cx, &a, Notice::Error(&e.detail)).await
        }
        Err(e) => Err(e),
    }
}

fn not_found() -> Error {
    Error::not_found("no such SCIM token")
}
