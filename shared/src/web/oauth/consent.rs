//! The consent page (OIDC Core §3.1.2.4) and its answer: the request waits
//! server-side while the user decides; allowing stores the consent and
//! issues the code, denying sends `access_denied` back to the client.

use http::StatusCode;

use super::authorize::{issue_code, render_refusal};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::oauth::authorize::{self, AuthRequest};
use crate::oauth::{consent, resources, OAuthError};
use crate::session::Session;
use crate::web::csrf;
use crate::web::render::OAuthRender;
use crate::web::response::{html, see_other, with_cookies, HttpResponse};
use crate::web::router::Ctx;
use crate::web::ui::{escape, page};

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
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(cx.req.query.iter().filter(|(k, _)| k != "prompt"))
        .finish();
    let id = consent::save_pending(cx.host, t.id(), &session.user.id, &ar.client.client_id, &query).await?;
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
    let Some(session) = cx.session().await? else {
        return Ok(see_other(&t.path("/login")));
    };
    let id = form.require("request")?;
    let Some(query) = consent::take_pending(cx.host, t.id(), &session.user.id, id).await? else {
        return Err(Error::bad_request("this consent request is no longer valid; start again from the application"));
    };
    let query: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let ar = match authorize::parse(cx.host, t, &query).await {
        Ok(ar) => ar,
        Err(r) => return Ok(render_refusal(r, t)),
    };
    match form.get("decision") {
        Some("allow") => {
            consent::store(cx.host, t.id(), &session.user.id, &ar.client.client_id, ar.audience.as_deref(), &ar.scope)
                .await?;
            issue_code(cx, &ar, &session, &query).await
        }
        _ => Ok(OAuthError::new("access_denied", "the user denied the request").to_redirect(
            &ar.redirect_uri,
            ar.state.as_deref(),
            &t.issuer,
        )),
    }
}
