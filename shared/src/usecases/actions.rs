//! The sign-in flows' triggers: each builds Auth0's `event` object for its
//! trigger from the flow's state and runs the bound actions
//! ([`crate::actions::execute`]); what the actions decide about the user
//! (metadata) is applied here.
//!
//! `post-user-registration` is the one trigger off the request path: it runs
//! from the audit events the signup wrote ([`after_events`]), where the log
//! streams' consumer takes them (the Worker's queue consumer, the delivery
//! worker on Spin), so it never delays or fails a signup.

use crate::actions::execute::{self, Applied, RunContext, Verdict};
use crate::actions::Trigger;
use crate::error::Result;
use crate::host::Host;
use crate::logs::record::{iso_date, LogEvent};
use crate::logs::EventType;
use crate::oauth::authorize::AuthRequest;
use crate::session::Session;
use crate::tenant::TenantCtx;
use crate::types::TenantId;
use crate::users::{self, User};

/// The HTTP request as an action sees it (`event.request`).
pub struct RequestInfo<'a> {
    pub ip: &'a str,
    pub user_agent: Option<&'a str>,
    pub hostname: &'a str,
    pub method: &'a str,
    /// The country the platform located the client in (Workers:
    /// `CF-IPCountry`), for rules like "deny by country".
    pub country: Option<&'a str>,
}

impl RequestInfo<'_> {
    fn event(&self) -> serde_json::Value {
        serde_json::json!({
            "ip": self.ip,
            "user_agent": self.user_agent,
            "hostname": self.hostname,
            "method": self.method,
            "geoip": { "countryCode": self.country },
        })
    }

    fn run_context<'a>(&'a self, user: Option<&'a crate::types::UserId>, client_id: Option<&'a str>) -> RunContext<'a> {
        RunContext { client_ip: self.ip, user, client_id, user_agent: self.user_agent }
    }
}

fn user_event(u: &User) -> serde_json::Value {
    serde_json::json!({
        "user_id": u.id,
        "email": u.email,
        "email_verified": u.email_verified,
        "name": u.name,
        "created_at": iso_date(u.created_at),
        "updated_at": iso_date(u.updated_at),
        "last_login": u.last_login_at.map(iso_date),
        "app_metadata": u.app_metadata,
        "user_metadata": u.user_metadata,
    })
}

/// `post-login`: after authentication (and consent), before the code.
pub async fn post_login<H: Host>(
    host: &H,
    t: &TenantCtx,
    ar: &AuthRequest,
    session: &Session,
    request: &RequestInfo<'_>,
) -> Result<Verdict> {
    let user = &session.user;
    let event = || {
        serde_json::json!({
            "tenant": { "id": t.id() },
            "user": user_event(user),
            "client": { "client_id": ar.client.client_id, "name": ar.client.name },
            "request": request.event(),
            "transaction": {
                "protocol": "oidc-basic-profile",
                "requested_scopes": ar.scope,
                "redirect_uri": ar.redirect_uri,
                "acr_values": ar.acr_values,
                "prompt": ar.prompt,
                "login_hint": ar.login_hint,
            },
            "resource_server": ar.audience.as_ref().map(|a| serde_json::json!({ "identifier": a })),
            "authentication": {
                "methods": session.amr.0.iter().map(|m| serde_json::json!({ "name": m, "timestamp": iso_date(session.auth_time) })).collect::<Vec<_>>(),
            },
        })
    };
    let verdict = execute::run(
        host,
        t.id(),
        Trigger::PostLogin,
        event,
        &request.run_context(Some(&user.id), Some(&ar.client.client_id)),
    )
    .await?;
    if let Verdict::Continue(applied) = &verdict {
        apply_metadata(host, t, user, applied).await?;
    }
    Ok(verdict)
}

/// Metadata set by actions, merged into the user's; what would grow past the
/// size limit is left out (the run's execution record shows it was asked).
async fn apply_metadata<H: Host>(host: &H, t: &TenantCtx, user: &User, applied: &Applied) -> Result<()> {
    users::merge_metadata(host, t.id(), &user.id, &applied.app_metadata, &applied.user_metadata).await?;
    Ok(())
}

/// `pre-login`: before the password is checked. The user may not exist, so
/// the event names the address that was typed.
pub async fn pre_login<H: Host>(host: &H, t: &TenantCtx, email: &str, request: &RequestInfo<'_>) -> Result<Verdict> {
    let event = || {
        serde_json::json!({
            "tenant": { "id": t.id() },
            "user": { "email": email },
            "request": request.event(),
        })
    };
    execute::run(host, t.id(), Trigger::PreLogin, event, &request.run_context(None, None)).await
}

/// `pre-user-registration`: before the user row is written. Metadata the
/// actions set goes into the new row (the caller's [`users::NewUser`]).
pub async fn pre_user_registration<H: Host>(
    host: &H,
    t: &TenantCtx,
    email: &str,
    name: Option<&str>,
    request: &RequestInfo<'_>,
) -> Result<Verdict> {
    let event = || {
        serde_json::json!({
            "tenant": { "id": t.id() },
            "user": { "email": email, "name": name },
            "request": request.event(),
            "connection": { "name": "Username-Password-Authentication", "strategy": "auth0" },
        })
    };
    execute::run(host, t.id(), Trigger::PreUserRegistration, event, &request.run_context(None, None)).await
}

/// What [`after_events`] did with a batch of audit events.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AfterEvents {
    /// Signups whose post-user-registration actions ran.
    pub ran: usize,
    /// Signups already handled (a redelivered event).
    pub duplicates: usize,
}

/// `post-user-registration`: for each signup among `events` (the audit
/// events' stream JSON, as the log streams' consumer takes them), runs the
/// tenant's bound actions once. The run's outcome is recorded like any other
/// (an execution record and an audit event); whatever it decides is
/// refused, as on Auth0, where this trigger can only observe. A signup whose
/// user was deleted meanwhile is skipped.
pub async fn after_events<H: Host>(host: &H, events: &[String]) -> Result<AfterEvents> {
    let mut done = AfterEvents::default();
    let signup = format!("\"type\":\"{}\"", EventType::SignupSuccess.code());
    for json in events {
        // The stream JSON is written by serde in field order, so most events
        // are passed over without being parsed.
        if !json.contains(&signup) {
            continue;
        }
        let Ok(e) = serde_json::from_str::<LogEvent>(json) else { continue };
        let (Some(tenant), Some(user_id)) = (e.tenant_id.as_deref(), e.user_id.as_deref()) else { continue };
        if e.kind != EventType::SignupSuccess.code() {
            continue;
        }
        let tenant = TenantId(tenant.to_string());
        // Read here, not through the flows' "nothing bound" cache: this runs
        // in a consumer that may not have seen the binding change.
        let bound = crate::actions::store::bound_now(host, &tenant, Trigger::PostUserRegistration).await?;
        if bound.is_empty() {
            continue;
        }
        let Some(user) = users::get(host, &tenant, user_id).await? else { continue };
        if !crate::actions::store::claim_dispatch(host, &tenant, &e.log_id).await? {
            done.duplicates += 1;
            continue;
        }
        let request = RequestInfo {
            ip: &e.ip,
            user_agent: e.user_agent.as_deref(),
            hostname: e.hostname.as_deref().unwrap_or_default(),
            method: "POST",
            country: None,
        };
        let event = || {
            serde_json::json!({
                "tenant": { "id": tenant },
                "user": user_event(&user),
                "request": request.event(),
                "connection": { "name": "Username-Password-Authentication", "strategy": "auth0" },
            })
        };
        let cx = request.run_context(Some(&user.id), None);
        execute::run_bound(host, &tenant, Trigger::PostUserRegistration, bound, event, &cx).await?;
        done.ran += 1;
    }
    Ok(done)
}
