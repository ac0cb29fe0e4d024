//! `GET /authorize` (RFC 6749 §4.1.1, OIDC Core §3.1.2): validates the
//! request, sends the user to sign in or to consent when needed, and
//! redirects back with a code or an error.
//!
//! Until the client and its redirect URI are verified, errors are shown on
//! an error page; after that they go back to the client (RFC 6749 §4.1.2.1),
//! always with `state` and `iss` (RFC 9207).

use crate::actions::execute::Verdict;
use crate::error::Result;
use crate::host::{Host, HostExt};
use crate::mfa;
use crate::oauth::authorize::{self, AuthRequest, Refusal};
use crate::oauth::{consent, OAuthError};
use crate::session::Session;
use crate::tenant::TenantCtx;
use crate::web::render::{redirect_with, OAuthRender, Render};
use crate::web::response::{see_other, HttpResponse};
use crate::web::router::Ctx;

/// A refusal as the browser gets it.
pub fn render_refusal(r: Refusal, t: &TenantCtx) -> HttpResponse {
    match r {
        Refusal::Page(e) => e.to_html(),
        Refusal::Redirect { redirect_uri, state, error } => {
            error.to_redirect(&redirect_uri, state.as_deref(), &t.issuer)
        }
    }
}

/// Runs the post-login actions, then issues a code for the session's user
/// and sends it back to the client. An action's deny goes back to the client
/// as `access_denied` (RFC 6749 §4.1.2.1) with the action's reason.
/// `query` is the authorization request's parameters (the way back after a
/// second factor an action asked for).
pub async fn issue_code<H: Host>(
    cx: &Ctx<'_, H>,
    ar: &AuthRequest,
    session: &Session,
    query: &[(String, String)],
) -> Result<HttpResponse> {
    let t = cx.tenant();
    let fail = |code: &'static str, d: &str| {
        OAuthError::new(code, d).to_redirect(&ar.redirect_uri, ar.state.as_deref(), &t.issuer)
    };
    let applied = match crate::usecases::actions::post_login(cx.host, t, ar, session, &cx.req.action_info()).await? {
        Verdict::Continue(applied) => applied,
        Verdict::Denied { reason, .. } => {
            return Ok(fail("access_denied", if reason.is_empty() { "denied by a post-login action" } else { &reason }))
        }
        Verdict::Failed { .. } => {
            return Ok(fail("server_error", "a post-login action failed and the trigger is set to fail closed"))
        }
    };
    // `api.multifactor.enable()`: a second factor for this sign-in, if the
    // session has not given one.
    if applied.require_mfa.is_some() && session.mfa_time.is_none() {
        if ar.prompt.iter().any(|p| p == "none") {
            return Ok(fail("interaction_required", "a second factor is required"));
        }
        let enrolled = mfa::enrolled(cx.host, t.id(), &session.user.id).await?;
        return Ok(to_second_factor(cx, query, enrolled));
    }
    let mut claims = serde_json::Map::new();
    if !applied.id_token_claims.is_empty() {
        claims.insert("id_token".into(), applied.id_token_claims.into());
    }
    if !applied.access_token_claims.is_empty() {
        claims.insert("access_token".into(), applied.access_token_claims.into());
    }
    let extras = authorize::CodeExtras {
        scopes: applied.scopes,
        action_claims: (!claims.is_empty()).then_some(serde_json::Value::Object(claims)),
    };
    let code =
        authorize::issue_code(cx.host, t, ar, &session.user.id, session.auth_time, &session.amr, &extras).await?;
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = &ar.state {
        params.push(("state", s));
    }
    params.push(("iss", &t.issuer));
    Ok(redirect_with(&ar.redirect_uri, &params))
}

pub async fn get<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let ar = match authorize::parse(cx.host, t, &cx.req.query).await {
        Ok(ar) => ar,
        Err(r) => return Ok(render_refusal(r, t)),
    };
    let fail = |code: &'static str, d: &str| {
        OAuthError::new(code, d).to_redirect(&ar.redirect_uri, ar.state.as_deref(), &t.issuer)
    };
    let session = cx.session().await?;
    let now = cx.host.now();
    let force_login = ar.prompt.iter().any(|p| p == "login");
    let too_old = |s: &Session| ar.max_age.is_some_and(|m| now - s.auth_time > m * 1000);
    let session = match session {
        Some(s) if !force_login && !too_old(&s) => s,
        _ if ar.prompt.iter().any(|p| p == "none") => {
            return Ok(fail("login_required", "the user is not signed in"));
        }
        _ => return Ok(to_login(cx, &ar, force_login || ar.max_age.is_some())),
    };
    if session.user.blocked {
        return Ok(fail("access_denied", "the user is blocked"));
    }
    // A second factor, by the client's (or tenant's) policy, `acr_values`
    // or a `max_age` older than the last one (OIDC Core §3.1.2.1).
    let demand = mfa::Demand {
        policy: ar.client.mfa_policy.resolve(t.tenant.settings.mfa_policy),
        acr_mfa: ar.wants_mfa(),
        max_age: ar.max_age,
    };
    // The factor query only when its answer can matter.
    let could_need = demand.acr_mfa
        || (demand.policy != mfa::Policy::Never && (session.mfa_time.is_none() || demand.max_age.is_some()));
    if could_need {
        let enrolled = mfa::enrolled(cx.host, t.id(), &session.user.id).await?;
        if mfa::step_up_needed(&demand, enrolled, &session.amr, session.mfa_time, now) {
            if ar.prompt.iter().any(|p| p == "none") {
                return Ok(fail("interaction_required", "a second factor is required"));
            }
            return Ok(to_second_factor(cx, &cx.req.query, enrolled));
        }
    }
    let needs_consent = !ar.client.first_party
        && (ar.prompt.iter().any(|p| p == "consent")
            || !consent::covers(
                cx.host,
                t.id(),
                &session.user.id,
                &ar.client.client_id,
                ar.audience.as_deref(),
                &ar.scope,
            )
            .await?);
    if needs_consent {
        if ar.prompt.iter().any(|p| p == "none") {
            return Ok(fail("consent_required", "the user has not consented to these scopes"));
        }
        return super::consent::ask(cx, &ar, &session).await;
    }
    issue_code(cx, &ar, &session, &cx.req.query).await
}

/// Sends the user to give (or set up) a second factor, then back to this
/// authorization request.
fn to_second_factor<H: Host>(cx: &Ctx<'_, H>, params: &[(String, String)], enrolled: bool) -> HttpResponse {
    let t = cx.tenant();
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(params);
    let here = format!("{}?{}", t.path("/authorize"), query.finish());
    let back: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
    let next = if enrolled { "/mfa" } else { "/mfa/enroll" };
    see_other(&t.path(&format!("{next}?return_to={back}")))
}

/// Sends the user to sign in, then back here. `prompt=login` is dropped
/// from the way back (the login page enforces it), so it does not loop.
fn to_login<H: Host>(cx: &Ctx<'_, H>, ar: &AuthRequest, force: bool) -> HttpResponse {
    let t = cx.tenant();
    let mut back = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &cx.req.query {
        if k == "prompt" {
            let rest: Vec<&str> = v.split(' ').filter(|p| *p != "login" && !p.is_empty()).collect();
            if !rest.is_empty() {
                back.append_pair(k, &rest.join(" "));
            }
        } else if k == "max_age" && force {
            // The fresh login satisfies it.
        } else {
            back.append_pair(k, v);
        }
    }
    let return_to = format!("{}?{}", t.path("/authorize"), back.finish());
    let mut login = form_urlencoded::Serializer::new(String::new());
    login.append_pair("return_to", &return_to);
    if force {
        login.append_pair("prompt", "login");
    }
    if let Some(h) = &ar.login_hint {
        login.append_pair("login_hint", h);
    }
    see_other(&format!("{}?{}", t.path("/login"), login.finish()))
}
