//! The admin UI's client screens: list, create and edit OAuth clients,
//! rotate a secret (shown once), and see and revoke the consents users gave
//! a client.

use http::StatusCode;

use super::{admin, admin_post, audit, render, small_form, Admin};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::oauth::clients::{self, Client, ClientSpec};
use crate::oauth::consent;
use crate::tenant::TenantCtx;
use crate::types::{Secret, UserId};
use crate::web::csrf;
use crate::web::request::Form;
use crate::web::response::{see_other, HttpResponse};
use crate::web::router::Ctx;
use crate::web::ui::{escape, message};

pub async fn list<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let a = match admin(cx).await? {
        Ok(a) => a,
        Err(r) => return Ok(r),
    };
    let t = cx.tenant();
    let all = clients::list(cx.host, t.id(), None, 100).await?;
    let rows: String = all
        .iter()
        .map(|c| {
            format!(
                "<tr><td><a href=\"{}\">{}</a></td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                escape(&t.path(&format!("/admin/clients/{}", c.client_id))),
                escape(&c.name),
                escape(&c.client_id),
                escape(&c.client_type),
                escape(&c.grant_types.join(", ")),
            )
        })
        .collect();
    let body = if all.is_empty() {
        "<p>No clients yet.</p>".to_string()
    } else {
        format!(
            "<table id=\"clients\"><tr><th>Name</th><th>Client ID</th><th>Type</th><th>Grants</th></tr>{rows}</table>"
        )
    };
    Ok(render(t, &a, "Applications", &body))
}

fn client_form(t: &TenantCtx, csrf_token: &str, action: &str, c: Option<&Client>, button: &str) -> String {
    let lines = |v: Option<&Vec<String>>| v.map(|v| v.join("\n")).unwrap_or_default();
    let grants = c
        .map_or_else(|| vec!["authorization_code".to_string(), "refresh_token".to_string()], |c| c.grant_types.clone());
    let checked = |g: &str| if grants.iter().any(|x| x == g) { " checked" } else { "" };
    let type_select = match c {
        Some(c) => format!("<p>Type: <strong>{}</strong></p>", escape(&c.client_type)),
        None => "<label for=\"client_type\">Type</label><select id=\"client_type\" name=\"client_type\">\
                 <option value=\"confidential\">Confidential (server-side, has a secret)</option>\
                 <option value=\"public\">Public (SPA or native, PKCE, no secret)</option></select>"
            .to_string(),
    };
    let _ = t;
    format!(
        "<form method=\"post\" action=\"{action}\" id=\"client-form\"><input type=\"hidden\" name=\"{field}\" value=\"{token}\">\
         <label for=\"name\">Name</label><input id=\"name\" name=\"name\" type=\"text\" value=\"{name}\" required>{type_select}\
         <label for=\"redirect_uris\">Redirect URIs (one per line, exact match)</label><textarea id=\"redirect_uris\" name=\"redirect_uris\">{redirects}</textarea>\
         <label for=\"post_logout_redirect_uris\">Post-logout redirect URIs</label><textarea id=\"post_logout_redirect_uris\" name=\"post_logout_redirect_uris\">{logouts}</textarea>\
         <label for=\"scopes\">Allowed scopes (space-separated)</label><input id=\"scopes\" name=\"scopes\" type=\"text\" value=\"{scopes}\">\
         <label for=\"audiences\">Allowed API audiences (one per line)</label><textarea id=\"audiences\" name=\"audiences\">{audiences}</textarea>\
         <label>Grant types</label>\
         <label><input type=\"checkbox\" name=\"grant_authorization_code\"{ac}> authorization_code</label>\
         <label><input type=\"checkbox\" name=\"grant_refresh_token\"{rt}> refresh_token</label>\
         <label><input type=\"checkbox\" name=\"grant_client_credentials\"{cc}> client_credentials</label>\
         <label><input type=\"checkbox\" name=\"first_party\"{fp}> First-party (skip the consent page)</label>\
         <button type=\"submit\">{button}</button></form>",
        action = escape(action),
        field = csrf::FIELD,
        token = escape(csrf_token),
        name = escape(c.map_or("", |c| c.name.as_str())),
        redirects = escape(&lines(c.map(|c| &c.redirect_uris))),
        logouts = escape(&lines(c.map(|c| &c.post_logout_redirect_uris))),
        scopes = escape(&c.map_or_else(|| "openid profile email offline_access".to_string(), |c| c.scopes.join(" "))),
        audiences = escape(&lines(c.map(|c| &c.audiences))),
        ac = checked("authorization_code"),
        rt = checked("refresh_token"),
        cc = checked("client_credentials"),
        fp = if c.is_some_and(|c| c.first_party) { " checked" } else { "" },
        button = escape(button),
    )
}

fn spec_from(form: &Form, creating: bool) -> ClientSpec {
    let lines = |n: &str| -> Vec<String> {
        form.get(n).unwrap_or("").lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
    };
    let mut grants = Vec::new();
    for g in ["authorization_code", "refresh_token", "client_credentials"] {
        if form.get(&format!("grant_{g}")).is_some() {
            grants.push(g.to_string());
        }
    }
    ClientSpec {
        name: form.get("name").map(str::to_owned),
        client_type: if creating { form.get("client_type").map(str::to_owned) } else { None },
        redirect_uris: Some(lines("redirect_uris")),
        post_logout_redirect_uris: Some(lines("post_logout_redirect_uris")),
        scopes: Some(crate::oauth::split_scopes(form.get("scopes").unwrap_or(""))),
        audiences: Some(lines("audiences")),
        grant_types: Some(grants),
        first_party: Some(form.get("first_party").is_some()),
        ..Default::default()
    }
}

pub async fn new<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let a = match admin(cx).await? {
        Ok(a) => a,
        Err(r) => return Ok(r),
    };
    let t = cx.tenant();
    let body = client_form(t, &a.csrf, &t.path("/admin/clients"), None, "Create client");
    Ok(render(t, &a, "New application", &body))
}

fn secret_page<H: Host>(
    cx: &Ctx<'_, H>,
    a: &Admin,
    c: &Client,
    secret: Option<&Secret<String>>,
    title: &str,
) -> HttpResponse {
    let t = cx.tenant();
    let secret_html = match secret {
        Some(s) => format!(
            "{}<p>Client secret: <code id=\"client-secret\">{}</code></p>",
            message("notice", "Copy the client secret now: it is shown only this once."),
            escape(s.expose())
        ),
        None => message("notice", "Public clients have no secret; they use PKCE."),
    };
    let body = format!(
        "<p>Client ID: <code id=\"client-id\">{}</code></p>{secret_html}<p><a href=\"{}\">Go to the client</a></p>",
        escape(&c.client_id),
        escape(&t.path(&format!("/admin/clients/{}", c.client_id)))
    );
    render(t, a, title, &body)
}

pub async fn create<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let (a, form) = match admin_post(cx).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let t = cx.tenant();
    match clients::create(cx.host, t.id(), spec_from(&form, true)).await {
        Ok((c, secret)) => {
            audit(cx, &a, "client created", serde_json::json!({ "client_id": c.client_id })).await?;
            Ok(secret_page(cx, &a, &c, secret.as_ref(), "Application created"))
        }
        Err(e) if e.kind == crate::error::ErrorKind::InvalidRequest => {
            let body = format!(
                "{}{}",
                message("error", &e.detail),
                client_form(t, &a.csrf, &t.path("/admin/clients"), None, "Create client")
            );
            let mut r = render(t, &a, "New application", &body);
            *r.status_mut() = StatusCode::BAD_REQUEST;
            Ok(r)
        }
        Err(e) => Err(e),
    }
}

async fn load<H: Host>(cx: &Ctx<'_, H>) -> Result<Client> {
    clients::get(cx.host, cx.tenant().id(), cx.param("client_id"))
        .await?
        .ok_or_else(|| Error::not_found("no such client"))
}

pub async fn show<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let a = match admin(cx).await? {
        Ok(a) => a,
        Err(r) => return Ok(r),
    };
    show_with(cx, &a, None).await
}

/// A consent's scopes for the table: OIDC scopes, then each API scope with
/// the API it is for.
fn consent_scopes(x: &serde_json::Value) -> String {
    let oidc = x["scopes"].as_array().into_iter().flatten().filter_map(|v| v.as_str()).map(str::to_owned);
    let api = x["api_scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| format!("{} ({})", v["scope"].as_str().unwrap_or(""), v["audience"].as_str().unwrap_or("")));
    oidc.chain(api).collect::<Vec<_>>().join(" ")
}

async fn show_with<H: Host>(cx: &Ctx<'_, H>, a: &Admin, notice: Option<(&str, &str)>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let c = load(cx).await?;
    let base = t.path(&format!("/admin/clients/{}", c.client_id));
    let consents = consent::list_for_client(cx.host, t.id(), &c.client_id).await?;
    let consent_rows: String = consents
        .iter()
        .map(|x| {
            let user_id = x["user_id"].as_str().unwrap_or("");
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(x["email"].as_str().unwrap_or("")),
                escape(&consent_scopes(x)),
                small_form(&format!("{base}/consents/revoke"), &a.csrf, &[("user_id", user_id)], "Revoke"),
            )
        })
        .collect();
    let consents_html = if consents.is_empty() {
        "<p id=\"no-consents\">No user has consented to this application.</p>".to_string()
    } else {
        format!("<table id=\"consents\"><tr><th>User</th><th>Scopes</th><th></th></tr>{consent_rows}</table>")
    };
    let rotate = if c.is_public() {
        String::new()
    } else {
        format!(
            "<h2>Client secret</h2><form method=\"post\" action=\"{}\" id=\"rotate-form\"><input type=\"hidden\" name=\"{}\" value=\"{}\">\
             <label for=\"overlap_seconds\">Keep the old secret working for (seconds)</label>\
             <input id=\"overlap_seconds\" name=\"overlap_seconds\" type=\"text\" value=\"0\"><button type=\"submit\">Rotate secret</button></form>",
            escape(&format!("{base}/rotate-secret")),
            csrf::FIELD,
            escape(&a.csrf)
        )
    };
    let body = format!(
        "{}<p>Client ID: <code id=\"client-id\">{}</code></p>{}{rotate}<h2>Consents</h2>{consents_html}<h2>Danger zone</h2>{}",
        notice.map(|(k, m)| message(k, m)).unwrap_or_default(),
        escape(&c.client_id),
        client_form(t, &a.csrf, &base, Some(&c), "Save changes"),
        small_form(&format!("{base}/delete"), &a.csrf, &[], "Delete this application"),
    );
    Ok(render(t, a, &c.name, &body))
}

pub async fn update<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let (a, form) = match admin_post(cx).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let t = cx.tenant();
    let c = load(cx).await?;
    match clients::update(cx.host, t.id(), &c, spec_from(&form, false)).await {
        Ok(c) => {
            audit(cx, &a, "client updated", serde_json::json!({ "client_id": c.client_id })).await?;
            show_with(cx, &a, Some(("notice", "Saved."))).await
        }
        Err(e) if e.kind == crate::error::ErrorKind::InvalidRequest => {
            let mut r = show_with(cx, &a, Some(("error", &e.detail))).await?;
            *r.status_mut() = StatusCode::BAD_REQUEST;
            Ok(r)
        }
        Err(e) => Err(e),
    }
}

pub async fn rotate<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let (a, form) = match admin_post(cx).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let t = cx.tenant();
    let c = load(cx).await?;
    let overlap = form
        .get("overlap_seconds")
        .unwrap_or("0")
        .trim()
        .parse::<i64>()
        .map_err(|_| Error::bad_request("overlap must be a whole number of seconds"))?;
    let secret = clients::rotate_secret(cx.host, t.id(), &c, overlap).await?;
    audit(cx, &a, "client secret rotated", serde_json::json!({ "client_id": c.client_id, "overlap_seconds": overlap }))
        .await?;
    Ok(secret_page(cx, &a, &c, Some(&secret), "New client secret"))
}

pub async fn delete<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let (a, _form) = match admin_post(cx).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let t = cx.tenant();
    let c = load(cx).await?;
    clients::delete(cx.host, t.id(), &c.client_id).await?;
    audit(cx, &a, "client deleted", serde_json::json!({ "client_id": c.client_id })).await?;
    Ok(see_other(&t.path("/admin/clients")))
}

pub async fn revoke_consent<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let (a, form) = match admin_post(cx).await? {
        Ok(x) => x,
        Err(r) => return Ok(r),
    };
    let t = cx.tenant();
    let c = load(cx).await?;
    let user = UserId(form.require("user_id")?.to_string());
    consent::revoke(cx.host, t.id(), &user, &c.client_id).await?;
    audit(cx, &a, "consent revoked", serde_json::json!({ "client_id": c.client_id, "user_id": user })).await?;
    show_with(cx, &a, Some(("notice", "Consent revoked; the application's tokens for that user are revoked too.")))
        .await
}
