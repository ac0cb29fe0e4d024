//! Audit events: every security-relevant action, with an Auth0-style type
//! code, a category and a severity. Each event is stored in `audit_events`
//! (the source of truth, searchable) and handed to `Events` for streaming.
//! Events carry an id so receivers of the at-least-once stream can
//! de-duplicate.

use serde::Serialize;

use crate::error::Result;
use crate::host::{Db, Events, Host, HostExt};
use crate::types::{EventId, TenantId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EventType {
    /// `s`: successful login.
    LoginSuccess,
    /// `fp`: wrong password.
    LoginWrongPassword,
    /// `fu`: no such user (the client is told the same as for `fp`).
    LoginUnknownUser,
    /// `f`: login refused for another reason (blocked, unverified).
    LoginFailed,
    /// `limit_wc`: an account was locked after repeated failures.
    AccountLocked,
    /// `limit_mu`: an IP address was throttled after repeated failures.
    IpThrottled,
    /// `ss` / `fs`: signup.
    SignupSuccess,
    SignupFailed,
    /// `slo`: logout.
    Logout,
    /// `sv`: email verified.
    EmailVerified,
    /// `scpr`: password reset requested; `scp`: password changed.
    PasswordResetRequested,
    PasswordChanged,
    /// `sapi`: a management or platform API change.
    ApiOperation,
    /// `sapi` / `fapi` in the platform category: an internal API call that
    /// was allowed / refused.
    PlatformApiCall,
    PlatformApiDenied,
    /// A scheduled maintenance run finished (with what it changed).
    Maintenance,
    /// `seacft` / `sertft` / `seccft`: tokens from a code, a refresh token,
    /// client credentials.
    TokenFromCode,
    TokenFromRefresh,
    TokenFromClientCredentials,
    /// `feacft`: a token request failed.
    TokenExchangeFailed,
    /// `ferrt`: a rotated refresh token was presented again.
    RefreshTokenReuse,
}

impl EventType {
    pub fn code(self) -> &'static str {
        match self {
            EventType::LoginSuccess => "s",
            EventType::LoginWrongPassword => "fp",
            EventType::LoginUnknownUser => "fu",
            EventType::LoginFailed => "f",
            EventType::AccountLocked => "limit_wc",
            EventType::IpThrottled => "limit_mu",
            EventType::SignupSuccess => "ss",
            EventType::SignupFailed => "fs",
            EventType::Logout => "slo",
            EventType::EmailVerified => "sv",
            EventType::PasswordResetRequested => "scpr",
            EventType::PasswordChanged => "scp",
            EventType::ApiOperation | EventType::PlatformApiCall => "sapi",
            EventType::PlatformApiDenied => "fapi",
            EventType::Maintenance => "maintenance",
            EventType::TokenFromCode => "seacft",
            EventType::TokenFromRefresh => "sertft",
            EventType::TokenFromClientCredentials => "seccft",
            EventType::TokenExchangeFailed => "feacft",
            EventType::RefreshTokenReuse => "ferrt",
        }
    }

    pub fn category(self) -> &'static str {
        match self {
            EventType::LoginSuccess
            | EventType::LoginWrongPassword
            | EventType::LoginUnknownUser
            | EventType::LoginFailed
            | EventType::Logout => "authentication",
            EventType::AccountLocked | EventType::IpThrottled => "anomaly",
            EventType::SignupSuccess
            | EventType::SignupFailed
            | EventType::EmailVerified
            | EventType::PasswordResetRequested
            | EventType::PasswordChanged => "user",
            EventType::ApiOperation => "admin",
            EventType::PlatformApiCall | EventType::PlatformApiDenied | EventType::Maintenance => "platform",
            EventType::TokenFromCode
            | EventType::TokenFromRefresh
            | EventType::TokenFromClientCredentials
            | EventType::TokenExchangeFailed => "token",
            EventType::RefreshTokenReuse => "anomaly",
        }
    }

    pub fn severity(self) -> &'static str {
        match self {
            EventType::LoginWrongPassword
            | EventType::LoginUnknownUser
            | EventType::LoginFailed
            | EventType::SignupFailed
            | EventType::PlatformApiDenied => "warning",
            EventType::AccountLocked | EventType::IpThrottled | EventType::RefreshTokenReuse => "error",
            EventType::TokenExchangeFailed => "warning",
            _ => "info",
        }
    }
}

pub struct Audit<'a> {
    pub tenant: Option<&'a TenantId>,
    pub kind: EventType,
    pub description: String,
    pub user: Option<&'a UserId>,
    pub client_ip: &'a str,
    pub details: serde_json::Value,
}

/// An event ready to store: its row, and the JSON the stream gets.
pub struct Prepared {
    pub statement: crate::host::Statement,
    pub json: String,
}

/// The event's columns, bound as ?1..?10.
const INSERT_COLUMNS: &str =
    "INSERT INTO audit_events (id, tenant_id, type, category, severity, description, user_id, client_ip, details, created_at)";

impl Prepared {
    /// The same event, stored only if the access token `jti` was recorded
    /// earlier in the same batch (a token request whose conditional insert
    /// found its grant revoked stores no success event).
    pub fn when_token_stored(self, jti: &str) -> Self {
        let mut params = self.statement.params;
        params.push(jti.into());
        let sql = format!(
            "{INSERT_COLUMNS} SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10
             WHERE EXISTS (SELECT 1 FROM oauth_tokens WHERE id = ?11 AND tenant_id IS ?2)"
        );
        Prepared { statement: crate::host::Statement::new(sql, params), json: self.json }
    }
}

/// Hands a stored event to the stream. A failure to publish does not fail
/// the request: the stored row is the record, and delivery catches up.
pub async fn publish<H: Host>(host: &H, event_json: &str) {
    let _ = host.events().publish(event_json).await;
}

/// Builds the event's row and stream JSON without writing, so a handler can
/// store it in the same batch as the change it records (the token endpoint
/// does: one round trip for the tokens and their audit event).
pub fn prepare<H: Host>(host: &H, audit: Audit<'_>) -> Prepared {
    let id = EventId::generate(host);
    let now = host.now();
    let json = serde_json::json!({
        "id": id,
        "tenant_id": audit.tenant,
        "type": audit.kind.code(),
        "category": audit.kind.category(),
        "severity": audit.kind.severity(),
        "description": audit.description,
        "user_id": audit.user,
        "ip": audit.client_ip,
        "details": audit.details,
        "date": now,
    })
    .to_string();
    let statement = crate::host::Statement::new(
        format!("{INSERT_COLUMNS} VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
        vec![
            id.as_str().into(),
            audit.tenant.map(|t| t.as_str()).into(),
            audit.kind.code().into(),
            audit.kind.category().into(),
            audit.kind.severity().into(),
            audit.description.into(),
            audit.user.map(|u| u.as_str()).into(),
            audit.client_ip.into(),
            audit.details.to_string().into(),
            now.into(),
        ],
    );
    Prepared { statement, json }
}

/// Stores the event and hands it to the stream.
pub async fn record<H: Host>(host: &H, audit: Audit<'_>) -> Result<()> {
    let Prepared { statement, json } = prepare(host, audit);
    host.db().execute(&statement.sql, &statement.params).await?;
    publish(host, &json).await;
    Ok(())
}

/// The outbox row for an event, for hosts whose `Events` is the outbox table
/// (Spin, native): keyed by the event id, so a retried publish is a no-op.
pub fn outbox_statement(event_json: &str, now: i64) -> crate::host::Statement {
    let id = serde_json::from_str::<serde_json::Value>(event_json)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    crate::host::Statement::new(
        "INSERT OR IGNORE INTO event_outbox (id, payload, created_at) VALUES (?1, ?2, ?3)",
        vec![id.into(), event_json.into(), now.into()],
    )
}

/// Platform audit events (every internal API call), newest first.
pub async fn list_platform<H: Host>(host: &H, limit: u32) -> Result<Vec<serde_json::Value>> {
    let rows = host
        .db()
        .query(
            "SELECT id, type, category, severity, description, user_id, client_ip, details, created_at
             FROM audit_events WHERE category = 'platform' ORDER BY created_at DESC, rowid DESC LIMIT ?1",
            &[crate::host::Value::Integer(limit as i64)],
        )
        .await?;
    rows.iter().map(event_json).collect()
}

fn event_json(r: &crate::host::Row) -> Result<serde_json::Value> {
    Ok(serde_json::json!({
        "id": r.text("id")?,
        "type": r.text("type")?,
        "category": r.text("category")?,
        "severity": r.text("severity")?,
        "description": r.text("description")?,
        "user_id": r.opt_text("user_id")?,
        "ip": r.text("client_ip")?,
        "details": serde_json::from_str::<serde_json::Value>(&r.text("details")?).unwrap_or_default(),
        "date": r.int("created_at")?,
    }))
}

/// Stored events of a tenant, newest first.
pub async fn list<H: Host>(
    host: &H,
    tenant: &TenantId,
    event_type: Option<&str>,
    limit: u32,
) -> Result<Vec<serde_json::Value>> {
    let rows = host
        .db()
        .query(
            "SELECT id, type, category, severity, description, user_id, client_ip, details, created_at
             FROM audit_events WHERE tenant_id = ?1 AND (?2 IS NULL OR type = ?2) ORDER BY created_at DESC, rowid DESC LIMIT ?3",
            &[tenant.as_str().into(), event_type.into(), crate::host::Value::Integer(limit as i64)],
        )
        .await?;
    rows.iter().map(event_json).collect()
}
