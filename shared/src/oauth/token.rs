//! The token endpoint (RFC 6749 §3.2): authenticates the client, finds the
//! grant and answers with tokens or an OAuth error, never cached.

use super::grants::authorization_code::AuthorizationCode;
use super::grants::client_credentials::ClientCredentials;
use super::grants::refresh_token::RefreshToken;
use super::grants::Grant;
use super::{client_auth, OAuthError, OResult};
use crate::error::Result;
use crate::host::Host;
use crate::logs::EventType;
use crate::response::HttpResponse;
use crate::router::Ctx;

pub async fn post<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let outcome = exchange(cx).await;
    let (kind, details) = match &outcome {
        Ok((grant, _)) => {
            let kind = match *grant {
                AuthorizationCode::GRANT_TYPE => EventType::TokenFromCode,
                RefreshToken::GRANT_TYPE => EventType::TokenFromRefresh,
                _ => EventType::TokenFromClientCredentials,
            };
            (kind, serde_json::json!({ "grant_type": grant }))
        }
        Err(e) => {
            (EventType::TokenExchangeFailed, serde_json::json!({ "error": e.code, "description": e.description }))
        }
    };
    cx.audit(kind, "token endpoint", None, details).await?;
    Ok(respond(cx, outcome.map(|(_, r)| r)))
}

/// Renders an OAuth outcome; server faults reach the operator's log.
pub fn respond<H: Host>(cx: &Ctx<'_, H>, r: OResult<HttpResponse>) -> HttpResponse {
    match r {
        Ok(resp) => resp,
        Err(e) => {
            if let Some(i) = &e.internal {
                cx.host.report_error(&format!("{} {}: {i}", cx.req.method, cx.req.path));
            }
            e.to_response()
        }
    }
}

async fn exchange<H: Host>(cx: &Ctx<'_, H>) -> OResult<(&'static str, HttpResponse)> {
    let form = cx.req.form()?;
    let client = client_auth::authenticate(cx.host, cx.tenant().id(), cx.req, &form).await?;
    let grant_type = form.get("grant_type").ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    let known = [AuthorizationCode::GRANT_TYPE, RefreshToken::GRANT_TYPE, ClientCredentials::GRANT_TYPE];
    if !known.contains(&grant_type) {
        return Err(OAuthError::new("unsupported_grant_type", format!("grant_type '{grant_type}' is not supported")));
    }
    if !client.allows_grant(grant_type) {
        return Err(OAuthError::unauthorized_client(format!("this client may not use {grant_type}")));
    }
    let (grant, tokens) = match grant_type {
        AuthorizationCode::GRANT_TYPE => {
            (AuthorizationCode::GRANT_TYPE, AuthorizationCode::exchange(cx, &client, &form).await?)
        }
        RefreshToken::GRANT_TYPE => (RefreshToken::GRANT_TYPE, RefreshToken::exchange(cx, &client, &form).await?),
        _ => (ClientCredentials::GRANT_TYPE, ClientCredentials::exchange(cx, &client, &form).await?),
    };
    let body = serde_json::to_vec(&tokens).map_err(|e| OAuthError::from(crate::error::Error::server(e.to_string())))?;
    Ok((grant, no_store_json(body)))
}

/// A 200 JSON response that must never be cached (RFC 6749 §5.1).
pub fn no_store_json(body: Vec<u8>) -> HttpResponse {
    http::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .header("pragma", "no-cache")
        .body(body)
        .expect("static headers")
}
