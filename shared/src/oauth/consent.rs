//! Consent (OIDC Core §3.1.2.4): the user approves a client's scopes once;
//! the grant is stored per user and client, skipped for first-party clients,
//! and revocable by the user and by an admin. Revoking also revokes the
//! client's tokens and codes for that user.
//!
//! An API's scope is consented for that API alone: `read` on API A does not
//! cover `read` on API B. Stored entries are the OpenID Connect scopes as
//! they are (they concern the user, not an API) and API scopes as
//! `"{audience} {scope}"` (neither can contain a space).

use http::StatusCode;

use super::authorize::{self, AuthRequest};
use super::scopes::OIDC_SCOPES;
use super::{resources, OAuthError};
use crate::crypto::{b64url, token_hash};
use crate::error::{Error, Result};
use crate::host::{Db, Host, HostExt, Statement};
use crate::response::{html, see_other, with_cookies, HttpResponse};
use crate::router::Ctx;
use crate::session::{self, csrf, Session};
use crate::types::{TenantId, UserId};
use crate::ui::{escape, page};

/// The stored entry for a scope requested for `audience`.
fn entry(audience: Option<&str>, scope: &str) -> String {
    match audience {
        Some(a) if !OIDC_SCOPES.contains(&scope) => format!("{a} {scope}"),
        _ => scope.to_string(),
    }
}

/// Whether the stored consent covers every requested scope for `audience`.
pub async fn covers<H: Host>(
    host: &H,
    tenant: &TenantId,
    user: &UserId,
    client_id: &str,
    audience: Option<&str>,
    scope: &[String],
) -> Result<bool> {
    let granted = granted(host, tenant, user, client_id).await?;
    Ok(scope.iter().all(|s| granted.contains(&entry(audience, s))))
}

/// Stored entries as the API shows them: OIDC scopes, and API scopes with
/// their audience.
fn shown(entries: &str) -> (Vec<String>, Vec<serde_json::Value>) {
    let all: Vec<String> = serde_json::from_str(entries).unwrap_or_default();
    let mut scopes = Vec::new();
    let mut api = Vec::new();
    for e in all {
        match e.split_once(' ') {
            Some((audience, scope)) => api.push(serde_json::json!({ "audience": audience, "scope": scope })),
            None => scopes.push(e),
        }
    }
    (scopes, api)
}

async fn granted<H: Host>(host: &H, tenant: &TenantId, user: &UserId, client_id: &str) -> Result<Vec<String>> {
    let rows = host
        .db()
        .query(
            "SELECT scopes FROM oauth_consents WHERE tenant_id = ?1 AND user_id = ?2 AND client_id = ?3",
            &[tenant.as_str().into(), user.as_str().into(), client_id.into()],
        )
        .await?;
    match rows.first() {
        Some(r) => Ok(serde_json::from_str(&r.text("scopes")?).unwrap_or_default()),
        None => Ok(Vec::new()),
    }
}

/// Consents of a user, for the account page and the management API.
pub async fn list<H: Host>(host: &H, tenant: &TenantId, user: &UserId) -> Result<Vec<serde_json::Value>> {
    let rows = host
        .db()
        .query(
            "SELECT c.client_id, c.scopes, c.created_at, c.updated_at, k.name FROM oauth_consents c
             JOIN oauth_clients k ON k.id = c.client_id AND k.tenant_id = c.tenant_id
             WHERE c.tenant_id = ?1 AND c.user_id = ?2 ORDER BY k.name",
            &[tenant.as_str().into(), user.as_str().into()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let (scopes, api_scopes) = shown(&r.text("scopes")?);
            Ok(serde_json::json!({
                "client_id": r.text("client_id")?,
                "client_name": r.text("name")?,
                "scopes": scopes,
                "api_scopes": api_scopes,
                "created_at": r.int("created_at")?,
                "updated_at": r.int("updated_at")?,
            }))
        })
        .collect()
}

/// Users who consented to a client, for the admin UI.
pub async fn list_for_client<H: Host>(host: &H, tenant: &TenantId, client_id: &str) -> Result<Vec<serde_json::Value>> {
    let rows = host
        .db()
        .query(
            "SELECT c.user_id, c.scopes, c.updated_at, u.email FROM oauth_consents c
             JOIN users u ON u.id = c.user_id AND u.tenant_id = c.tenant_id
             WHERE c.tenant_id = ?1 AND c.client_id = ?2 ORDER BY u.email",
            &[tenant.as_str().into(), client_id.into()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let (scopes, api_scopes) = shown(&r.text("scopes")?);
            Ok(serde_json::json!({
                "user_id": r.text("user_id")?,
                "email": r.text("email")?,
                "scopes": scopes,
                "api_scopes": api_scopes,
                "updated_at": r.int("updated_at")?,
            }))
        })
        .collect()
}

/// Removes a consent and revokes the client's tokens for the user.
pub async fn revoke<H: Host>(host: &H, tenant: &TenantId, user: &UserId, client_id: &str) -> Result<bool> {
    let now = host.now();
    let mut writes = vec![Statement::new(
        "DELETE FROM oauth_consents WHERE tenant_id = ?1 AND user_id = ?2 AND client_id = ?3",
        vec![tenant.as_str().into(), user.as_str().into(), client_id.into()],
    )];
    writes.extend(super::tokens::revoke_user(tenant, user, Some(client_id), now));
    let counts = host.db().batch(writes).await?;
    Ok(counts.first() == Some(&1))
}

async fn store<H: Host>(
    host: &H,
    tenant: &TenantId,
    user: &UserId,
    client_id: &str,
    audience: Option<&str>,
    scope: &[String],
) -> Result<()> {
    let mut all = granted(host, tenant, user, client_id).await?;
    for s in scope {
        let e = entry(audience, s);
        if !all.contains(&e) {
            all.push(e);
        }
    }
    let now = host.now();
    host.db()
        .execute(
            "INSERT INTO oauth_consents (tenant_id, user_id, client_id, scopes, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT (tenant_id, user_id, client_id) DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at",
            &[
                tenant.as_str().into(),
                user.as_str().into(),
                client_id.into(),
                serde_json::to_string(&all).expect("strings").into(),
                now.into(),
            ],
        )
        .await?;
    Ok(())
}

/// A scope as the consent page words it; an API scope names its API.
fn describe(scope: &str, api: Option<&str>) -> String {
    match (scope, api) {
        ("openid", _) => "Sign you in".into(),
        ("profile", _) => "See your name".into(),
        ("email", _) => "See your email address".into(),
        ("offline_access", _) => "Stay signed in (keep access when you are away)".into(),
        (other, Some(api)) => format!("Use the permission \u{201c}{other}\u{201d} on {api}"),
        (other, None) => format!("Use the permission \u{201c}{other}\u{201d}"),
    }
}

/// Stores the pending request and shows the consent page.
pub async fn ask<H: Host>(cx: &Ctx<'_, H>, ar: &AuthRequest, session: &Session) -> Result<HttpResponse> {
    let t = cx.tenant();
    let id = b64url(&cx.host.random_bytes::<32>());
    let now = cx.host.now();
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(cx.req.query.iter().filter(|(k, _)| k != "prompt"))
        .finish();
    cx.host
        .db()
        .execute(
            "INSERT INTO oauth_pending_requests (id_hash, tenant_id, user_id, client_id, query, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &[
                token_hash(&id).into(),
                t.id().as_str().into(),
                session.user.id.as_str().into(),
                ar.client.client_id.clone().into(),
                query.into(),
                now.into(),
                (now + 10 * 60_000).into(),
            ],
        )
        .await?;
    let (token, set) = csrf::issue(cx.host, cx.req, t)?;
    let api = match &ar.audience {
        Some(a) => Some(resources::by_identifier(cx.host, t.id(), a).await?.map_or_else(|| a.clone(), |r| r.name)),
        None => None,
    };
    let items: String = ar.scope.iter().map(|s| format!("<li>{}</li>", escape(&describe(s, api.as_deref())))).collect();
    let body = format!(
        "<p><strong>{client}</strong> wants to:</p><ul id=\"scopes\">{items}</ul>\
         <p>Signed in as {email}.</p>\
         <form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"{field}\" value=\"{token}\">\
         <input type=\"hidden\" name=\"request\" value=\"{id}\">\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\" style=\"background:#667\">Deny</button></form>",
        client = escape(&ar.client.name),
        email = escape(&session.user.email),
        action = escape(&t.path("/consent")),
        field = csrf::FIELD,
        token = escape(&token),
        id = escape(&id),
    );
    Ok(with_cookies(
        html(StatusCode::OK, page(Some(&t.tenant.name), "Authorize access", &body)),
        &set.into_iter().collect::<Vec<_>>(),
    ))
}

pub async fn submit<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let form = cx.req.form()?;
    csrf::verify(cx.host, cx.req, t, &form)?;
    let Some(session) = session::current(cx.host, cx.req, t).await? else {
        return Ok(see_other(&t.path("/login")));
    };
    let id = form.require("request")?;
    let now = cx.host.now();
    // Single use, and only by the user it was made for.
    let rows = cx
        .host
        .db()
        .query(
            "UPDATE oauth_pending_requests SET used_at = ?1
             WHERE id_hash = ?2 AND tenant_id = ?3 AND user_id = ?4 AND used_at IS NULL AND expires_at > ?1
             RETURNING query",
            &[now.into(), token_hash(id).into(), t.id().as_str().into(), session.user.id.as_str().into()],
        )
        .await?;
    let Some(row) = rows.first() else {
        return Err(Error::bad_request("this consent request is no longer valid; start again from the application"));
    };
    let query: Vec<(String, String)> = form_urlencoded::parse(row.text("query")?.as_bytes()).into_owned().collect();
    let ar = match authorize::parse(cx.host, t, &query).await {
        Ok(ar) => ar,
        Err(r) => return Ok(r.render(t)),
    };
    match form.get("decision") {
        Some("allow") => {
            store(cx.host, t.id(), &session.user.id, &ar.client.client_id, ar.audience.as_deref(), &ar.scope).await?;
            authorize::issue_code(cx.host, t, &ar, &session).await
        }
        _ => Ok(OAuthError::new("access_denied", "the user denied the request").to_redirect(
            &ar.redirect_uri,
            ar.state.as_deref(),
            &t.issuer,
        )),
    }
}
