//! `client_credentials` (RFC 6749 §4.4): a confidential client gets an
//! access token for an API audience, with scopes that API defines and the
//! client is allowed.

use super::{Grant, GrantCx, TokenRequest};
use crate::actions::decision::DENY_CODES;
use crate::actions::execute::{self, RunContext, Verdict};
use crate::actions::Trigger;
use crate::crypto::b64url;
use crate::host::{Host, HostExt};
use crate::oauth::clients::Client;
use crate::oauth::tokens::{self, Issue, Minted};
use crate::oauth::{resources, scopes, split_scopes, OAuthError, OResult};

pub struct ClientCredentials;

impl Grant for ClientCredentials {
    const GRANT_TYPE: &'static str = "client_credentials";

    async fn exchange<H: Host>(cx: &GrantCx<'_, H>, client: &Client, req: &TokenRequest) -> OResult<Minted> {
        let t = cx.tenant;
        if client.is_public() {
            return Err(OAuthError::unauthorized_client("public clients cannot use client_credentials"));
        }
        let audience = match (req.audience.as_deref(), req.resource.as_deref()) {
            (Some(_), Some(_)) => return Err(OAuthError::invalid_request("send audience or resource, not both")),
            (Some(a), None) | (None, Some(a)) => a.to_string(),
            (None, None) => {
                client.audiences.first().cloned().ok_or_else(|| OAuthError::invalid_request("audience is required"))?
            }
        };
        if !client.audiences.contains(&audience) {
            return Err(OAuthError::new("invalid_target", "the client may not request tokens for this audience"));
        }
        let api = resources::by_identifier(cx.host, t.id(), &audience)
            .await?
            .ok_or_else(|| OAuthError::new("invalid_target", "unknown audience"))?;
        let scope = match req.scope.as_deref() {
            Some(s) if !s.is_empty() => split_scopes(s),
            // By default: everything the API defines that the client may have.
            _ => api.scopes.iter().filter(|s| client.scopes.contains(s)).cloned().collect(),
        };
        if scope.iter().any(|s| scopes::OIDC_SCOPES.contains(&s.as_str())) {
            return Err(OAuthError::invalid_scope("OpenID Connect scopes need a user; use an API's scopes"));
        }
        scopes::check(&scope, &client.scopes, Some(&api.scopes)).map_err(OAuthError::invalid_scope)?;
        let action_claims = credentials_exchange(cx, client, &audience, &scope, req).await?;
        let family = format!("cc_{}", b64url(&cx.host.random_bytes::<12>()));
        let issue = Issue {
            client,
            user: None,
            grant_scope: scope.clone(),
            scope,
            grant_time: cx.host.now(),
            parent: tokens::Parent::None,
            audience: Some(audience),
            access_ttl: api.access_token_ttl,
            auth_time: None,
            amr: None,
            acr: None,
            action_claims,
            nonce: None,
            family_id: family,
            refresh: false,
            id_token: false,
        };
        Ok(tokens::issue(cx.host, t, issue).await?)
    }
}

/// Runs the tenant's `credentials-exchange` actions (Auth0's trigger of that
/// name) before the token is signed: a deny answers with the action's OAuth
/// error code, and claims it sets go into the access token.
async fn credentials_exchange<H: Host>(
    cx: &GrantCx<'_, H>,
    client: &Client,
    audience: &str,
    scope: &[String],
    req: &TokenRequest,
) -> OResult<Option<serde_json::Value>> {
    let t = cx.tenant;
    let event = || {
        serde_json::json!({
            "tenant": { "id": t.id() },
            "client": { "client_id": client.client_id, "name": client.name },
            "request": { "ip": cx.client_ip },
            "resource_server": { "identifier": audience },
            "accessToken": { "scope": scope },
            "transaction": { "requested_scopes": req.scope.as_deref().map(split_scopes).unwrap_or_default() },
        })
    };
    let run_cx =
        RunContext { client_ip: cx.client_ip, user: None, client_id: Some(&client.client_id), user_agent: None };
    match execute::run(cx.host, t.id(), Trigger::CredentialsExchange, event, &run_cx).await? {
        Verdict::Continue(applied) if applied.access_token_claims.is_empty() => Ok(None),
        Verdict::Continue(applied) => Ok(Some(serde_json::json!({ "access_token": applied.access_token_claims }))),
        Verdict::Denied { reason, code, .. } => {
            let code = DENY_CODES.iter().find(|c| Some(**c) == code.as_deref()).copied().unwrap_or("access_denied");
            let mut e =
                OAuthError::new(code, if reason.is_empty() { "denied by an action".to_owned() } else { reason });
            if code == "access_denied" {
                e.status = http::StatusCode::FORBIDDEN;
            }
            Err(e)
        }
        Verdict::Failed { .. } => Err(OAuthError::new(
            "server_error",
            "a credentials-exchange action failed and the trigger is set to fail closed",
        )),
    }
}
