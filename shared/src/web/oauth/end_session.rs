//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
//!
//! `post_logout_redirect_uri` must be registered for the client, exactly;
//! otherwise the user stays here (no open redirect). With a valid
//! `id_token_hint` for the signed-in user the session ends at once; without
//! one the user confirms with a CSRF-protected form.

use http::StatusCode;
use jwt_compact::UntrustedToken;

use crate::error::{Error, Result};
use crate::host::Host;
use crate::logs::EventType;
use crate::oauth::clients;
use crate::web::csrf;
use crate::web::render::redirect_with;
use crate::web::response::{html, see_other, with_cookies, HttpResponse};
use crate::web::router::Ctx;
use crate::web::ui::page;
use crate::web::ui::pages::{form, Field};

struct Hint {
    sub: String,
    aud: String,
}

/// The subject and client of an ID token this tenant signed. Expiry is not
/// checked: an expired ID token is still a valid hint (§2).
async fn read_hint<H: Host>(cx: &Ctx<'_, H>, token: &str) -> Result<Option<Hint>> {
    let Ok(untrusted) = UntrustedToken::new(token) else { return Ok(None) };
    let Some(kid) = untrusted.header().key_id.clone() else { return Ok(None) };
    let Some(key) = crate::keys::verifying_key(cx.host, cx.tenant().id(), &kid).await? else { return Ok(None) };
    let Some(claims) = crate::keys::jws::verify::<H, serde_json::Value>(cx.host, &key, token).await else {
        return Ok(None);
    };
    let c = &claims.custom;
    if c["iss"] != cx.tenant().issuer.as_str() {
        return Ok(None);
    }
    let aud = match &c["aud"] {
        serde_json::Value::String(a) => a.clone(),
        serde_json::Value::Array(a) => a.first().and_then(|v| v.as_str()).unwrap_or("").to_string(),
        _ => return Ok(None),
    };
    Ok(c["sub"].as_str().map(|s| Hint { sub: s.to_string(), aud }))
}

/// The validated place to send the user afterwards, if any.
async fn destination<H: Host>(
    cx: &Ctx<'_, H>,
    client_id: Option<&str>,
    uri: Option<&str>,
    state: Option<&str>,
) -> Result<Option<HttpResponse>> {
    let Some(uri) = uri.filter(|u| !u.is_empty()) else { return Ok(None) };
    let client_id =
        client_id.ok_or_else(|| Error::bad_request("post_logout_redirect_uri needs client_id or id_token_hint"))?;
    let client = clients::get(cx.host, cx.tenant().id(), client_id)
        .await?
        .ok_or_else(|| Error::bad_request("unknown client_id"))?;
    if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
        return Err(Error::bad_request("post_logout_redirect_uri is not registered for this client"));
    }
    let mut params = Vec::new();
    if let Some(s) = state {
        params.push(("state", s));
    }
    Ok(Some(if params.is_empty() { see_other(uri) } else { redirect_with(uri, &params) }))
}

pub async fn get<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let q = |n: &str| cx.req.query_param(n).filter(|v| !v.is_empty());
    let hint = match q("id_token_hint") {
        Some(h) => Some(
            read_hint(cx, h)
                .await?
                .ok_or_else(|| Error::bad_request("id_token_hint is not a valid ID token of this issuer"))?,
        ),
        None => None,
    };
    let client_id = match (q("client_id"), &hint) {
        (Some(c), Some(h)) if c != h.aud => return Err(Error::bad_request("client_id does not match id_token_hint")),
        (Some(c), _) => Some(c.to_string()),
        (None, Some(h)) => Some(h.aud.clone()),
        (None, None) => None,
    };
    // Validate before anything else, so a bad URI never ends a session.
    let dest = destination(cx, client_id.as_deref(), q("post_logout_redirect_uri"), q("state")).await?;
    let current = cx.session().await?;
    let done = || dest.clone().unwrap_or_else(|| see_other(&t.path("/login?notice=logged_out")));
    match (current, &hint) {
        (None, _) => Ok(done()),
        (Some(s), Some(h)) if s.user.id.as_str() == h.sub => {
            let clear = cx.end_session().await?;
            cx.audit(
                EventType::Logout,
                "RP-initiated logout",
                Some(&s.user.id),
                serde_json::json!({ "client_id": client_id }),
            )
            .await?;
            Ok(with_cookies(done(), &[clear]))
        }
        (Some(_), _) => {
            let (token, set) = csrf::issue(cx.host, cx.req, t)?;
            let fields = [
                Field::hidden("client_id", client_id.as_deref().unwrap_or("")),
                Field::hidden("post_logout_redirect_uri", q("post_logout_redirect_uri").unwrap_or("")),
                Field::hidden("state", q("state").unwrap_or("")),
            ];
            let body =
                format!("<p>Do you want to sign out?</p>{}", form(&t.path("/logout"), &token, &fields, "Sign out"));
            let page = page(Some(&t.tenant.name), "Sign out", &body);
            Ok(with_cookies(html(StatusCode::OK, page), &set.into_iter().collect::<Vec<_>>()))
        }
    }
}

pub async fn post<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let f = cx.req.form()?;
    csrf::verify(cx.host, cx.req, t, &f)?;
    let nonempty = |n: &str| f.get(n).filter(|v| !v.is_empty());
    let dest = destination(cx, nonempty("client_id"), nonempty("post_logout_redirect_uri"), nonempty("state")).await?;
    let current = cx.session().await?;
    let clear = cx.end_session().await?;
    if let Some(s) = current {
        cx.audit(EventType::Logout, "logout", Some(&s.user.id), serde_json::json!({})).await?;
    }
    let to = dest.unwrap_or_else(|| see_other(&t.path("/login?notice=logged_out")));
    Ok(with_cookies(to, &[clear]))
}
