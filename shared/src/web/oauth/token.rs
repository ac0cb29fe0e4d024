//! The token endpoint (RFC 6749 §3.2): authenticates the client, finds the
//! grant and answers with tokens or an OAuth error, never cached.

use super::client_auth;
use crate::error::{Error, Result};
use crate::host::Host;
use crate::logs::{self, EventType};
use crate::oauth::clients::{self, Client};
use crate::oauth::grants::authorization_code::AuthorizationCode;
use crate::oauth::grants::client_credentials::ClientCredentials;
use crate::oauth::grants::refresh_token::RefreshToken;
use crate::oauth::grants::Grant;
use crate::oauth::grants::{GrantCx, TokenRequest};
use crate::oauth::tokens::{self, Minted, Stored};
use crate::oauth::{OAuthError, OResult};
use crate::web::render::OAuthRender;
use crate::web::response::{no_store_json, HttpResponse};
use crate::web::router::Ctx;

pub async fn post<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let outcome = match exchange(cx).await {
        Ok((grant, client, minted)) => store(cx, grant, &client, minted).await,
        Err(e) => Err(e),
    };
    if let Err(e) = &outcome {
        let details = serde_json::json!({ "error": e.code, "description": e.description });
        let mut event = cx.audit_event(EventType::TokenExchangeFailed, "token endpoint", None, details);
        // The client it claimed to be, authenticated or not (Auth0 logs the
        // attempted client_id too; its name only once it is known).
        if let Some(id) = claimed_client(cx) {
            event = event.with_client(&id, None);
        }
        logs::record(cx.host, event).await?;
    }
    Ok(respond(cx, outcome))
}

/// Stores the tokens' records and the audit event in one batch, then
/// answers: a token is never handed out before it can be revoked. A
/// self-contained token has no record; its event is stored all the same
/// (by the event pipeline's consumer where there is one).
async fn store<H: Host>(
    cx: &Ctx<'_, H>,
    grant: &'static str,
    client: &Client,
    minted: Minted,
) -> OResult<HttpResponse> {
    let kind = match grant {
        AuthorizationCode::GRANT_TYPE => EventType::TokenFromCode,
        RefreshToken::GRANT_TYPE => EventType::TokenFromRefresh,
        _ => EventType::TokenFromClientCredentials,
    };
    let body = serde_json::to_vec(&minted.response).map_err(|e| Error::server(e.to_string()))?;
    let details = serde_json::json!({ "grant_type": grant });
    let event =
        cx.audit_event(kind, "token endpoint", None, details).with_client(&client.client_id, Some(&client.name));
    let event = logs::prepare(cx.host, event);
    if minted.records.is_empty() {
        // A self-contained token (see `Issue::self_contained`): nothing to
        // store but its event, which the pipeline may store for us.
        logs::record_unstored(cx.host, event).await?;
        return Ok(no_store_json(body));
    }
    match tokens::store(cx.host, minted, event).await? {
        Stored::Yes => Ok(no_store_json(body)),
        Stored::RowVanished => Err(vanished(cx, client).await),
        Stored::GrantRevoked => {
            Err(OAuthError::invalid_grant("the grant was revoked while the tokens were being issued"))
        }
    }
}

/// The `client_id` a token request names, for the failure's audit event:
/// only what could be an id, so an odd string is not echoed into logs.
fn claimed_client<H: Host>(cx: &Ctx<'_, H>) -> Option<String> {
    client_auth::claimed_client_id(cx.req).filter(|id| id.len() <= 128 && id.chars().all(|c| c.is_ascii_graphic()))
}

/// Which row went away, for the error (RFC 6749 §5.2): an unknown client
/// is `invalid_client`; a vanished user makes the grant invalid.
async fn vanished<H: Host>(cx: &Ctx<'_, H>, client: &Client) -> OAuthError {
    match clients::get(cx.host, cx.tenant().id(), &client.client_id).await {
        Ok(None) => crate::oauth::client_auth::invalid_client(cx.req.header("authorization").is_some()),
        _ => OAuthError::invalid_grant("the user of this grant no longer exists"),
    }
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

async fn exchange<H: Host>(cx: &Ctx<'_, H>) -> OResult<(&'static str, Client, Minted)> {
    let form = cx.req.form()?;
    let client = client_auth::authenticate(cx, &form).await?;
    let grant_type = form.get("grant_type").ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    let known = [AuthorizationCode::GRANT_TYPE, RefreshToken::GRANT_TYPE, ClientCredentials::GRANT_TYPE];
    if !known.contains(&grant_type) {
        return Err(OAuthError::new("unsupported_grant_type", format!("grant_type '{grant_type}' is not supported")));
    }
    if !client.allows_grant(grant_type) {
        return Err(OAuthError::unauthorized_client(format!("this client may not use {grant_type}")));
    }
    let field = |name: &str| form.get(name).map(str::to_owned);
    let req = TokenRequest {
        grant_type: field("grant_type"),
        code: field("code"),
        redirect_uri: field("redirect_uri"),
        code_verifier: field("code_verifier"),
        refresh_token: field("refresh_token"),
        scope: field("scope"),
        audience: field("audience"),
        resource: field("resource"),
    };
    let gcx = GrantCx { host: cx.host, tenant: cx.tenant(), client_ip: &cx.req.client_ip };
    let (grant, minted) = match grant_type {
        AuthorizationCode::GRANT_TYPE => {
            (AuthorizationCode::GRANT_TYPE, AuthorizationCode::exchange(&gcx, &client, &req).await?)
        }
        RefreshToken::GRANT_TYPE => (RefreshToken::GRANT_TYPE, RefreshToken::exchange(&gcx, &client, &req).await?),
        _ => (ClientCredentials::GRANT_TYPE, ClientCredentials::exchange(&gcx, &client, &req).await?),
    };
    Ok((grant, client, minted))
}
