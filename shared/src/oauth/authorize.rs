//! The authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2):
//! `response_type=code` only, PKCE S256, exact redirect URI match.
//!
//! Until the client and its redirect URI are verified, errors are shown on
//! an error page; after that they go back to the client (RFC 6749 §4.1.2.1),
//! always with `state` and `iss` (RFC 9207).

use super::clients::{self, Client};
use super::{pkce, resources, scopes, split_scopes, OAuthError};
use crate::crypto::{b64url, token_hash};
use crate::error::{Error, Result};
use crate::host::{Db, Host, HostExt};
use crate::tenant::TenantCtx;
use crate::types::UserId;

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
    /// Requested authentication context classes (OIDC Core §3.1.2.1),
    /// voluntary: unknown values are ignored.
    pub acr_values: Vec<String>,
}

impl AuthRequest {
    /// Whether `acr_values` asks for a second factor.
    pub fn wants_mfa(&self) -> bool {
        self.acr_values.iter().any(|v| v == crate::mfa::ACR_MFA)
    }
}

/// A failure before or after the redirect URI is trusted.
pub enum Refusal {
    Page(Error),
    Redirect { redirect_uri: String, state: Option<String>, error: OAuthError },
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
        acr_values: split_scopes(get("acr_values")?.unwrap_or("")),
    })
}

/// What post-login actions add to a code: scopes, and claims for the tokens.
#[derive(Debug, Default)]
pub struct CodeExtras {
    pub scopes: Vec<String>,
    /// `{"id_token": {...}, "access_token": {...}}`, when an action set any.
    pub action_claims: Option<serde_json::Value>,
}

/// Issues a single-use code (a minute by default) for the signed-in `user`,
/// who authenticated at `auth_time` with the methods `amr`; the caller sends
/// it to the client.
pub async fn issue_code<H: Host>(
    host: &H,
    t: &TenantCtx,
    ar: &AuthRequest,
    user: &UserId,
    auth_time: i64,
    amr: &crate::mfa::Amr,
    extras: &CodeExtras,
) -> Result<String> {
    let mut scope = ar.scope.clone();
    for s in &extras.scopes {
        if !scope.contains(s) {
            scope.push(s.clone());
        }
    }
    let code = b64url(&host.random_bytes::<32>());
    let now = host.now();
    let ttl_ms = t.tenant.settings.authorization_code_ttl_seconds as i64 * 1000;
    host.db()
        .execute(
            "INSERT INTO oauth_codes (code_hash, tenant_id, client_id, user_id, redirect_uri, scope, audience, nonce,
               code_challenge, auth_time, created_at, expires_at, amr, acr, action_claims)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            &[
                token_hash(&code).into(),
                t.id().as_str().into(),
                ar.client.client_id.clone().into(),
                user.as_str().into(),
                ar.redirect_uri.clone().into(),
                scope.join(" ").into(),
                ar.audience.clone().into(),
                ar.nonce.clone().into(),
                ar.code_challenge.clone().into(),
                auth_time.into(),
                now.into(),
                (now + ttl_ms).into(),
                amr.joined().into(),
                amr.acr().into(),
                extras.action_claims.as_ref().map(|c| c.to_string()).into(),
            ],
        )
        .await?;
    Ok(code)
}
