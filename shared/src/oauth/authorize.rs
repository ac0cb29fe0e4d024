//! The authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2):
//! `response_type=code` only, PKCE S256, exact redirect URI match.
//!
//! Until the client and its redirect URI are verified, errors are shown on
//! an error page; after that they go back to the client (RFC 6749 §4.1.2.1),
//! always with `state` and `iss` (RFC 9207).

use super::clients::{self, Client};
use super::{consent, pkce, redirect_with, resources, scopes, split_scopes, OAuthError};
use crate::crypto::{b64url, token_hash};
use crate::error::{Error, Result};
use crate::host::{Db, Host, HostExt};
use crate::response::{see_other, HttpResponse};
use crate::router::Ctx;
use crate::session::{self, Session};
use crate::tenant::TenantCtx;

/// A validated authorization request.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub client: Client,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub scope: Vec<String>,
    pub audience: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Vec<String>,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
}

/// A failure before or after the redirect URI is trusted.
pub enum Refusal {
    Page(Error),
    Redirect { redirect_uri: String, state: Option<String>, error: OAuthError },
}

impl Refusal {
    pub fn render(self, t: &TenantCtx) -> HttpResponse {
        match self {
            Refusal::Page(e) => e.to_html(),
            Refusal::Redirect { redirect_uri, state, error } => {
                error.to_redirect(&redirect_uri, state.as_deref(), &t.issuer)
            }
        }
    }
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> std::result::Result<Option<&'a str>, String> {
    let mut found = q.iter().filter(|(k, _)| k == name);
    let first = found.next().map(|(_, v)| v.as_str());
    if found.next().is_some() {
        return Err(format!("parameter '{name}' is repeated"));
    }
    Ok(first.filter(|v| !v.is_empty()))
}

/// Parses and validates an authorization request's parameters.
pub async fn parse<H: Host>(
    host: &H,
    t: &TenantCtx,
    q: &[(String, String)],
) -> std::result::Result<AuthRequest, Refusal> {
    let page = |d: String| Refusal::Page(Error::bad_request(d));
    let client_id = param(q, "client_id").map_err(page)?.ok_or_else(|| page("client_id is required".into()))?;
    let client = clients::get(host, t.id(), client_id)
        .await
        .map_err(Refusal::Page)?
        .ok_or_else(|| page("unknown client_id".into()))?;
    let redirect_uri =
        param(q, "redirect_uri").map_err(page)?.ok_or_else(|| page("redirect_uri is required".into()))?;
    // RFC 9700 §2.1: exact string comparison, no patterns.
    if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
        return Err(page("redirect_uri is not registered for this client".into()));
    }
    let state = param(q, "state").map_err(page)?.map(str::to_owned);
    let redirect_uri = redirect_uri.to_string();
    let fail = |code: &'static str, d: String| Refusal::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        error: OAuthError::new(code, d),
    };
    let get = |name: &str| param(q, name).map_err(|d| fail("invalid_request", d));

    match get("response_type")? {
        Some("code") => {}
        Some(_) => return Err(fail("unsupported_response_type", "only response_type=code is supported".into())),
        None => return Err(fail("invalid_request", "response_type is required".into())),
    }
    if get("request")?.is_some() || get("request_uri")?.is_some() {
        return Err(fail("request_not_supported", "request objects are not supported".into()));
    }
    if let Some(m) = get("response_mode")? {
        if m != "query" {
            return Err(fail("invalid_request", "only response_mode=query is supported".into()));
        }
    }
    if !client.allows_grant("authorization_code") {
        return Err(fail("unauthorized_client", "this client may not use the authorization code flow".into()));
    }
    let scope = split_scopes(get("scope")?.unwrap_or(""));
    if scope.is_empty() {
        return Err(fail("invalid_scope", "scope is required".into()));
    }
    let audience = match (get("audience")?, get("resource")?) {
        (Some(a), None) | (None, Some(a)) => Some(a.to_string()),
        (None, None) => None,
        (Some(_), Some(_)) => return Err(fail("invalid_request", "send audience or resource, not both".into())),
    };
    let api_scopes = match &audience {
        None => None,
        Some(a) => {
            if !client.audiences.iter().any(|x| x == a) {
                return Err(fail("invalid_target", "the client may not request tokens for this audience".into()));
            }
            let res = resources::by_identifier(host, t.id(), a).await.map_err(Refusal::Page)?;
            Some(res.ok_or_else(|| fail("invalid_target", "unknown audience".into()))?.scopes)
        }
    };
    scopes::check(&scope, &client.scopes, api_scopes.as_deref()).map_err(|d| fail("invalid_scope", d))?;

    let code_challenge = get("code_challenge")?.map(str::to_owned);
    match (get("code_challenge_method")?, &code_challenge) {
        (Some("S256"), Some(c)) if pkce::well_formed(c) => {}
        (Some("S256"), Some(_)) => return Err(fail("invalid_request", "code_challenge is malformed".into())),
        (Some(_), _) => return Err(fail("invalid_request", "only code_challenge_method=S256 is supported".into())),
        // RFC 7636 §4.3 defaults to plain, which is refused.
        (None, Some(_)) => return Err(fail("invalid_request", "code_challenge_method=S256 is required".into())),
        (None, None) if client.pkce_required() => {
            return Err(fail("invalid_request", "this client must use PKCE (code_challenge with S256)".into()))
        }
        (None, None) => {}
    }
    let prompt = split_scopes(get("prompt")?.unwrap_or(""));
    for p in &prompt {
        if !["none", "login", "consent", "select_account"].contains(&p.as_str()) {
            return Err(fail("invalid_request", format!("unsupported prompt value '{p}'")));
        }
    }
    if prompt.iter().any(|p| p == "none") && prompt.len() > 1 {
        return Err(fail("invalid_request", "prompt=none cannot be combined with other values".into()));
    }
    let max_age = match get("max_age")? {
        None => None,
        Some(m) => Some(
            m.parse::<i64>()
                .ok()
                .filter(|m| *m >= 0)
                .ok_or_else(|| fail("invalid_request", "max_age must be a non-negative integer".into()))?,
        ),
    };
    let nonce = get("nonce")?.map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > 512) || state.as_ref().is_some_and(|s| s.len() > 2048) {
        return Err(fail("invalid_request", "state or nonce is too long".into()));
    }
    Ok(AuthRequest {
        client,
        redirect_uri: redirect_uri.clone(),
        state: state.clone(),
        scope,
        audience,
        nonce,
        code_challenge,
        prompt,
        max_age,
        login_hint: get("login_hint")?.map(str::to_owned),
    })
}

pub async fn get<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let t = cx.tenant();
    let ar = match parse(cx.host, t, &cx.req.query).await {
        Ok(ar) => ar,
        Err(r) => return Ok(r.render(t)),
    };
    let fail = |code: &'static str, d: &str| {
        OAuthError::new(code, d).to_redirect(&ar.redirect_uri, ar.state.as_deref(), &t.issuer)
    };
    let session = session::current(cx.host, cx.req, t).await?;
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
        return consent::ask(cx, &ar, &session).await;
    }
    issue_code(cx.host, t, &ar, &session).await
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

/// Issues a single-use code (a minute by default) and sends the user back to
/// the client.
pub async fn issue_code<H: Host>(host: &H, t: &TenantCtx, ar: &AuthRequest, session: &Session) -> Result<HttpResponse> {
    let code = b64url(&host.random_bytes::<32>());
    let now = host.now();
    let ttl_ms = t.tenant.settings.authorization_code_ttl_seconds as i64 * 1000;
    host.db()
        .execute(
            "INSERT INTO oauth_codes (code_hash, tenant_id, client_id, user_id, redirect_uri, scope, audience, nonce,
               code_challenge, auth_time, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            &[
                token_hash(&code).into(),
                t.id().as_str().into(),
                ar.client.client_id.clone().into(),
                session.user.id.as_str().into(),
                ar.redirect_uri.clone().into(),
                ar.scope.join(" ").into(),
                ar.audience.clone().into(),
                ar.nonce.clone().into(),
                ar.code_challenge.clone().into(),
                session.auth_time.into(),
                now.into(),
                (now + ttl_ms).into(),
            ],
        )
        .await?;
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = &ar.state {
        params.push(("state", s));
    }
    params.push(("iss", &t.issuer));
    Ok(redirect_with(&ar.redirect_uri, &params))
}
