//! Audit events: every security-relevant action, with an Auth0-style type
//! code, a category and a severity. Each event is stored in `audit_events`
//! (the source of truth, searchable) and handed to `Events` for streaming.
//! Events carry an id so receivers of the at-least-once stream can
//! de-duplicate.

pub mod attempts;
pub mod dead_letters;
pub mod delivery;
pub mod filter;
pub mod record;
pub mod retention;
pub mod sigv4;
pub mod sinks;
pub mod streams;

use std::borrow::Cow;

use serde::Serialize;

pub use record::LogEvent;

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
    /// A test event sent to one log stream by its owner.
    TestEvent,
    /// A log stream that kept failing was suspended.
    LogStreamSuspended,
    /// `gd_auth_succeed` / `gd_auth_failed`: a second factor (authenticator
    /// code) given at sign-in.
    MfaSuccess,
    MfaFailed,
    /// `gd_recovery_succeed` / `gd_recovery_failed`: a recovery code.
    MfaRecoverySuccess,
    MfaRecoveryFailed,
    /// `gd_enrollment_complete`: an authenticator app was set up (or imported).
    MfaEnrolled,
    /// `gd_unenroll`: a factor was removed (by the user or an admin).
    MfaUnenrolled,
    /// `gd_recovery_codes_regenerated`: a new set of recovery codes.
    MfaRecoveryCodesRegenerated,
    /// `gd_send_email`: a one-time code was sent by email.
    MfaEmailSent,
    /// `gd_otp_rate_limit_exceed`: too many email codes requested or tried.
    MfaRateLimited,
    /// `action_execution`: an action ran (its outcome, `success` or
    /// `denied`, is in the details).
    ActionExecuted,
    /// `action_execution_failed`: an action failed, timed out, or the
    /// actions host could not be reached.
    ActionFailed,
    /// `scim_operation`: a provisioning client created, changed or removed
    /// a user or group over SCIM.
    ScimOperation,
}

impl EventType {
    /// Every event type, for filters and documentation.
    pub const ALL: [EventType; 35] = [
        EventType::LoginSuccess,
        EventType::LoginWrongPassword,
        EventType::LoginUnknownUser,
        EventType::LoginFailed,
        EventType::AccountLocked,
        EventType::IpThrottled,
        EventType::SignupSuccess,
        EventType::SignupFailed,
        EventType::Logout,
        EventType::EmailVerified,
        EventType::PasswordResetRequested,
        EventType::PasswordChanged,
        EventType::ApiOperation,
        EventType::PlatformApiCall,
        EventType::PlatformApiDenied,
        EventType::Maintenance,
        EventType::TokenFromCode,
        EventType::TokenFromRefresh,
        EventType::TokenFromClientCredentials,
        EventType::TokenExchangeFailed,
        EventType::RefreshTokenReuse,
        EventType::TestEvent,
        EventType::LogStreamSuspended,
        EventType::MfaSuccess,
        EventType::MfaFailed,
        EventType::MfaRecoverySuccess,
        EventType::MfaRecoveryFailed,
        EventType::MfaEnrolled,
        EventType::MfaUnenrolled,
        EventType::MfaRecoveryCodesRegenerated,
        EventType::MfaEmailSent,
        EventType::MfaRateLimited,
        EventType::ActionExecuted,
        EventType::ActionFailed,
        EventType::ScimOperation,
    ];

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
            EventType::TestEvent => "log_stream_test",
            EventType::LogStreamSuspended => "log_stream_suspended",
            EventType::MfaSuccess => "gd_auth_succeed",
            EventType::MfaFailed => "gd_auth_failed",
            EventType::MfaRecoverySuccess => "gd_recovery_succeed",
            EventType::MfaRecoveryFailed => "gd_recovery_failed",
            EventType::MfaEnrolled => "gd_enrollment_complete",
            EventType::MfaUnenrolled => "gd_unenroll",
            EventType::MfaRecoveryCodesRegenerated => "gd_recovery_codes_regenerated",
            EventType::MfaEmailSent => "gd_send_email",
            EventType::MfaRateLimited => "gd_otp_rate_limit_exceed",
            EventType::ActionExecuted => "action_execution",
            EventType::ActionFailed => "action_execution_failed",
            EventType::ScimOperation => "scim_operation",
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
            EventType::TestEvent | EventType::LogStreamSuspended => "system",
            EventType::MfaSuccess
            | EventType::MfaFailed
            | EventType::MfaRecoverySuccess
            | EventType::MfaRecoveryFailed => "authentication",
            EventType::MfaEnrolled | EventType::MfaUnenrolled | EventType::MfaRecoveryCodesRegenerated => "user",
            EventType::MfaEmailSent => "authentication",
            EventType::MfaRateLimited => "anomaly",
            EventType::ActionExecuted | EventType::ActionFailed => "actions",
            EventType::ScimOperation => "provisioning",
        }
    }

    /// The category a log stream filters on, with Auth0's names (its "Log
    /// Event Type Filters"): a filter on `auth.login` takes both
    /// `auth.login.success` and `auth.login.fail`.
    pub fn from_code(code: &str) -> Option<EventType> {
        // `sapi` is both a management and a platform call: the same category.
        Self::ALL.into_iter().find(|t| t.code() == code)
    }

    pub fn stream_category(self) -> &'static str {
        match self {
            EventType::LoginSuccess => "auth.login.success",
            EventType::LoginWrongPassword
            | EventType::LoginUnknownUser
            | EventType::LoginFailed
            | EventType::AccountLocked
            | EventType::IpThrottled => "auth.login.fail",
            EventType::SignupSuccess => "auth.signup.success",
            EventType::SignupFailed => "auth.signup.fail",
            EventType::Logout => "auth.logout.success",
            EventType::EmailVerified | EventType::PasswordChanged => "user.success",
            EventType::PasswordResetRequested => "user.notification",
            EventType::ApiOperation | EventType::PlatformApiCall => "management.success",
            EventType::PlatformApiDenied => "management.fail",
            EventType::Maintenance => "system.notification",
            EventType::TokenFromCode | EventType::TokenFromRefresh | EventType::TokenFromClientCredentials => {
                "auth.token_exchange.success"
            }
            EventType::TokenExchangeFailed | EventType::RefreshTokenReuse => "auth.token_exchange.fail",
            EventType::TestEvent | EventType::LogStreamSuspended => "system.notification",
            EventType::MfaSuccess | EventType::MfaRecoverySuccess => "auth.mfa.success",
            EventType::MfaFailed | EventType::MfaRecoveryFailed => "auth.mfa.fail",
            EventType::MfaEnrolled | EventType::MfaUnenrolled | EventType::MfaRecoveryCodesRegenerated => "user.mfa",
            EventType::MfaEmailSent => "auth.mfa.notification",
            EventType::MfaRateLimited => "auth.mfa.fail",
            EventType::ActionExecuted => "actions.execution.success",
            EventType::ActionFailed => "actions.execution.fail",
            EventType::ScimOperation => "scim.event",
        }
    }

    pub fn severity(self) -> &'static str {
        match self {
            EventType::LoginWrongPassword
            | EventType::LoginUnknownUser
            | EventType::LoginFailed
            | EventType::SignupFailed
            | EventType::PlatformApiDenied
            | EventType::MfaFailed
            | EventType::MfaRecoveryFailed
            | EventType::MfaRateLimited
            | EventType::ActionFailed => "warning",
            EventType::AccountLocked
            | EventType::IpThrottled
            | EventType::RefreshTokenReuse
            | EventType::LogStreamSuspended => "error",
            EventType::TokenExchangeFailed => "warning",
            _ => "info",
        }
    }
}

/// Who and what an event concerns beyond its tenant and user id: Auth0's
/// `client_id`, `client_name`, `user_name`, `user_agent` and `hostname`.
#[derive(Debug, Clone, Default)]
pub struct EventContext {
    pub client_id: Option<String>,
    pub client_name: Option<String>,
    pub user_name: Option<String>,
    pub user_agent: Option<String>,
    pub hostname: Option<String>,
}

pub struct Audit<'a> {
    pub tenant: Option<&'a TenantId>,
    pub kind: EventType,
    pub description: String,
    pub user: Option<&'a UserId>,
    pub client_ip: &'a str,
    pub details: serde_json::Value,
    pub context: EventContext,
}

impl Audit<'_> {
    /// The event names the client it concerns (Auth0's `client_id` and
    /// `client_name`).
    pub fn with_client(mut self, id: &str, name: Option<&str>) -> Self {
        self.context.client_id = Some(id.to_string());
        self.context.client_name = name.map(str::to_string);
        self
    }

    /// The event names its user by a readable name too (the email).
    pub fn with_user_name(mut self, name: &str) -> Self {
        self.context.user_name = Some(name.to_string());
        self
    }
}

/// An event ready to store: the JSON the stream gets, and its row, whose
/// statement is built only when asked for (a Workers token hands the event
/// over unstored, and never needs it).
pub struct Prepared {
    pub id: EventId,
    pub json: String,
    event: LogEvent,
    category: &'static str,
    created_at: i64,
}

/// The event's columns, bound as ?1..?15, then its place in the tenant's
/// sequence (checkpoint pagination): the next number, found through the
/// `(tenant_id, seq)` index inside the write, where SQLite (D1 included)
/// has one writer at a time.
const INSERT_COLUMNS: &str = "INSERT INTO audit_events (id, tenant_id, type, category, severity, description, user_id, client_ip, details, created_at, client_id, client_name, user_name, user_agent, hostname, seq)";
const NEXT_SEQ: &str = "(SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_events WHERE tenant_id IS ?2)";

impl Prepared {
    /// The statement that stores the event, and its stream JSON.
    pub fn into_statement(self) -> (crate::host::Statement, String) {
        let sql = format!(
            "{INSERT_COLUMNS} VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, {NEXT_SEQ})"
        );
        (crate::host::Statement::new(sql, row_params(self.event, self.category, self.created_at)), self.json)
    }

    /// The statement that stores the event only if the access token `jti`
    /// was recorded earlier in the same batch (a token request whose
    /// conditional insert found its grant revoked stores no success event),
    /// and its stream JSON.
    pub fn into_statement_when_token_stored(self, jti: &str) -> (crate::host::Statement, String) {
        let mut params = row_params(self.event, self.category, self.created_at);
        params.push(jti.into());
        let sql = format!(
            "{INSERT_COLUMNS} SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, {NEXT_SEQ}
             WHERE EXISTS (SELECT 1 FROM oauth_tokens WHERE id = ?16 AND tenant_id IS ?2)"
        );
        (crate::host::Statement::new(sql, params), self.json)
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
    let cx = audit.context;
    let event = LogEvent {
        log_id: id.to_string(),
        date: record::iso_date(now),
        kind: audit.kind.code().to_string(),
        description: audit.description,
        category: audit.kind.stream_category().to_string(),
        severity: audit.kind.severity().to_string(),
        tenant_id: audit.tenant.map(|t| t.to_string()),
        client_id: cx.client_id,
        client_name: cx.client_name,
        ip: audit.client_ip.to_string(),
        user_agent: cx.user_agent,
        hostname: cx.hostname,
        user_id: audit.user.map(|u| u.to_string()),
        user_name: cx.user_name,
        details: audit.details,
    };
    let json = serde_json::to_string(&event).unwrap_or_default();
    Prepared { id, json, event, category: audit.kind.category(), created_at: now }
}

/// The event's columns ?1..?15 (see [`INSERT_COLUMNS`]).
fn row_params(event: LogEvent, category: &str, created_at: i64) -> Vec<crate::host::Value> {
    vec![
        event.log_id.into(),
        event.tenant_id.into(),
        event.kind.into(),
        category.into(),
        event.severity.into(),
        event.description.into(),
        event.user_id.into(),
        event.ip.into(),
        event.details.to_string().into(),
        created_at.into(),
        event.client_id.into(),
        event.client_name.into(),
        event.user_name.into(),
        event.user_agent.into(),
        event.hostname.into(),
    ]
}

/// Records an event whose request writes nothing else (a self-contained
/// `client_credentials` token): handed to the pipeline unstored, for its
/// consumer to store, where the host has such a consumer (Workers' queue);
/// stored here and published otherwise, and also when the hand-over fails,
/// so the event is never lost.
pub async fn record_unstored<H: Host>(host: &H, event: Prepared) -> Result<()> {
    if host.events().publish_unstored(&event.json).await.is_ok() {
        return Ok(());
    }
    let (statement, json) = event.into_statement();
    host.db().execute(&statement.sql, &statement.params).await?;
    publish(host, &json).await;
    Ok(())
}

/// Stores events handed over unstored (their stream JSON), for the
/// pipeline's consumer: one statement per chunk of events, which reads them
/// as a JSON array (`json_each`) rather than binding 15 values per event, a
/// no-op for an event already stored (a redelivered message) or whose
/// tenant is gone (whose events would refuse the rest), so a batch can be
/// retried whole.
pub async fn store_unstored<H: Host>(host: &H, events: &[String]) -> Result<()> {
    let writes = unstored_statements(events);
    if !writes.is_empty() {
        host.db().batch(writes).await?;
    }
    Ok(())
}

/// Bound on one statement's JSON, well under D1's limits on a statement's
/// bound values.
const UNSTORED_CHUNK_BYTES: usize = 512 * 1024;

/// An event's columns, borrowed from its stream JSON: the consumer parses
/// each event once, without building it (a dozen strings and the details'
/// tree) only to write it out again as the statement's JSON.
#[derive(serde::Deserialize)]
struct Columns<'a> {
    #[serde(borrow)]
    log_id: Cow<'a, str>,
    #[serde(borrow)]
    date: Cow<'a, str>,
    #[serde(borrow, rename = "type")]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    description: Cow<'a, str>,
    #[serde(borrow)]
    severity: Cow<'a, str>,
    #[serde(borrow)]
    tenant_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    client_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    client_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    ip: Cow<'a, str>,
    #[serde(borrow)]
    user_agent: Option<Cow<'a, str>>,
    #[serde(borrow)]
    hostname: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_name: Option<Cow<'a, str>>,
    /// As it came: serde's compact JSON of the event's details, the text
    /// [`row_params`] stores for them.
    #[serde(borrow)]
    details: &'a serde_json::value::RawValue,
}

fn unstored_statements(events: &[String]) -> Vec<crate::host::Statement> {
    let mut seen = std::collections::HashSet::new();
    let mut statements = Vec::new();
    // The rows of one statement, each a JSON array of the 15 columns of
    // [`row_params`], in their order.
    let mut rows = String::from("[");
    for raw in events {
        let Ok(e) = serde_json::from_str::<Columns<'_>>(raw) else { continue };
        // The same event twice in one statement would be inserted twice:
        // its `NOT EXISTS` sees only rows stored before the statement.
        if !seen.insert(e.log_id.clone()) {
            continue;
        }
        let Some(created_at) = chrono::DateTime::parse_from_rfc3339(&e.date).ok().map(|d| d.timestamp_millis()) else {
            continue;
        };
        let Some(category) = EventType::from_code(&e.kind).map(|k| k.category()) else { continue };
        let row = (
            &e.log_id,
            &e.tenant_id,
            &e.kind,
            category,
            &e.severity,
            &e.description,
            &e.user_id,
            &e.ip,
            e.details.get(),
            created_at,
            &e.client_id,
            &e.client_name,
            &e.user_name,
            &e.user_agent,
            &e.hostname,
        );
        let Ok(text) = serde_json::to_string(&row) else { continue };
        if rows.len() > 1 {
            rows.push(',');
        }
        rows.push_str(&text);
        if rows.len() > UNSTORED_CHUNK_BYTES {
            rows.push(']');
            statements.push(unstored_insert(std::mem::replace(&mut rows, String::from("["))));
        }
    }
    if rows.len() > 1 {
        rows.push(']');
        statements.push(unstored_insert(rows));
    }
    statements
}

/// Inserts `rows` (a JSON array of rows, each the 15 values of
/// [`row_params`]). Each event takes the next places in its tenant's
/// sequence: the statement reads the table as it was before it (SQLite
/// evaluates an `INSERT ... SELECT` from its own table in full first), so the
/// rows of one tenant are numbered after its highest `seq` in the order they
/// came.
fn unstored_insert(rows: String) -> crate::host::Statement {
    let columns: String =
        (0..15).map(|i| format!("json_extract(value, '$[{i}]') AS c{i}")).collect::<Vec<_>>().join(", ");
    let values: String = (0..15).map(|i| format!("e.c{i}")).collect::<Vec<_>>().join(", ");
    crate::host::Statement::new(
        format!(
            "{INSERT_COLUMNS}
             SELECT {values},
                    (SELECT COALESCE(MAX(a.seq), 0) FROM audit_events a WHERE a.tenant_id IS e.c1)
                      + ROW_NUMBER() OVER (PARTITION BY e.c1 ORDER BY e.k)
             FROM (SELECT key AS k, {columns} FROM json_each(?1)) e
             WHERE NOT EXISTS (SELECT 1 FROM audit_events WHERE id = e.c0)
               AND (e.c1 IS NULL OR EXISTS (SELECT 1 FROM tenants WHERE id = e.c1))"
        ),
        vec![rows.into()],
    )
}

/// Stores the event and hands it to the stream.
pub async fn record<H: Host>(host: &H, audit: Audit<'_>) -> Result<()> {
    let (statement, json) = prepare(host, audit).into_statement();
    host.db().execute(&statement.sql, &statement.params).await?;
    publish(host, &json).await;
    Ok(())
}

/// The outbox row for an event, for hosts whose `Events` is the outbox table
/// (Spin, native): keyed by the event id, so a retried publish is a no-op.
pub fn outbox_statement(event_json: &str, now: i64) -> crate::host::Statement {
    let id = serde_json::from_str::<serde_json::Value>(event_json)
        .ok()
        .and_then(|v| v["log_id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    crate::host::Statement::new(
        "INSERT OR IGNORE INTO event_outbox (id, payload, created_at) VALUES (?1, ?2, ?3)",
        vec![id.into(), event_json.into(), now.into()],
    )
}

/// The columns [`LogEvent::from_row`] reads.
const EVENT_COLUMNS: &str = "id, tenant_id, type, severity, description, user_id, client_ip, details, created_at, client_id, client_name, user_name, user_agent, hostname";

/// Platform audit events (every internal API call), newest first.
pub async fn list_platform<H: Host>(host: &H, limit: u32) -> Result<Vec<LogEvent>> {
    let (sql, params) = platform_query(limit);
    let rows = host.db().query(&sql, &params).await?;
    rows.iter().map(LogEvent::from_row).collect()
}

/// What a list of stored events is narrowed to: the filters a log stream
/// takes (one category, one type, a least severity), a user, a client and a
/// date range.
#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub kind: Option<String>,
    pub category: Option<String>,
    pub min_severity: Option<String>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    /// Events at or after this time (ms).
    pub since: Option<i64>,
    /// Events before this time (ms).
    pub until: Option<i64>,
}

impl ListFilter {
    /// Checks the names as a stream's filter would.
    pub fn validate(&self) -> Result<()> {
        filter::Filter {
            categories: self.category.iter().cloned().collect(),
            types: self.kind.iter().cloned().collect(),
            min_severity: self.min_severity.clone(),
        }
        .validate()
    }

    /// The type codes of the category, as a JSON array.
    fn category_types(&self) -> Option<String> {
        let c = self.category.as_deref()?;
        let codes: Vec<&str> =
            EventType::ALL.iter().filter(|t| filter::within(t.stream_category(), c)).map(|t| t.code()).collect();
        serde_json::to_string(&codes).ok()
    }

    fn severities(&self) -> Option<String> {
        let all = ["info", "warning", "error"];
        let from = all.iter().position(|s| Some(*s) == self.min_severity.as_deref())?;
        serde_json::to_string(&all[from..]).ok()
    }
}

/// The SQL of a tenant's list and its parameters. Only the filters given
/// appear, so the planner can pick the index that returns rows in order:
/// `(tenant_id, type | user_id | client_id, created_at)` for an equality
/// filter, `(tenant_id, created_at)` otherwise. Category and severity are
/// checked on the rows that index yields (the unary `+` keeps them from
/// choosing an index that would need a sort). `native/tests/domain` asserts
/// the plan of each shape.
pub fn list_query(tenant: &TenantId, filter: &ListFilter, limit: u32) -> (String, Vec<crate::host::Value>) {
    let mut sql = format!("SELECT {EVENT_COLUMNS} FROM audit_events WHERE tenant_id = ?1");
    let mut params: Vec<crate::host::Value> = vec![tenant.as_str().into()];
    let mut and = |clause: &str, value: crate::host::Value| {
        params.push(value);
        sql.push_str(&clause.replace('#', &format!("?{}", params.len())));
    };
    if let Some(k) = &filter.kind {
        and(" AND type = #", k.clone().into());
    }
    if let Some(u) = &filter.user_id {
        and(" AND user_id = #", u.clone().into());
    }
    if let Some(c) = &filter.client_id {
        and(" AND client_id = #", c.clone().into());
    }
    if let Some(t) = filter.since {
        and(" AND created_at >= #", t.into());
    }
    if let Some(t) = filter.until {
        and(" AND created_at < #", t.into());
    }
    if let Some(types) = filter.category_types() {
        and(" AND +type IN (SELECT value FROM json_each(#))", types.into());
    }
    if let Some(sev) = filter.severities() {
        and(" AND +severity IN (SELECT value FROM json_each(#))", sev.into());
    }
    and(" ORDER BY created_at DESC, rowid DESC LIMIT #", crate::host::Value::Integer(limit as i64));
    (sql, params)
}

/// The platform's own events, newest first: served by the
/// `(category, created_at)` index.
pub fn platform_query(limit: u32) -> (String, Vec<crate::host::Value>) {
    (
        format!(
            "SELECT {EVENT_COLUMNS} FROM audit_events WHERE category = 'platform' ORDER BY created_at DESC, rowid DESC LIMIT ?1"
        ),
        vec![crate::host::Value::Integer(limit as i64)],
    )
}

/// Checkpoint reads take at most this many events.
pub const MAX_TAKE: u32 = 100;

/// The events of a tenant stored after the event `from` (or from the
/// oldest retained, without one), in the order they were stored, at most
/// `take`: Auth0's checkpoint pagination. Served by `(tenant_id, seq)`.
pub fn checkpoint_query(tenant: &TenantId, from: Option<&str>, take: u32) -> (String, Vec<crate::host::Value>) {
    let after = if from.is_some() {
        "(SELECT seq FROM audit_events WHERE tenant_id = ?1 AND id = ?2)"
    } else {
        "COALESCE(?2, 0)"
    };
    (
        format!(
            "SELECT {EVENT_COLUMNS} FROM audit_events WHERE tenant_id = ?1 AND seq > {after} ORDER BY seq LIMIT ?3"
        ),
        vec![tenant.as_str().into(), from.map(str::to_owned).into(), crate::host::Value::Integer(take as i64)],
    )
}

/// See [`checkpoint_query`]. A `from` that names no retained event of the
/// tenant is refused (start again without it).
pub async fn list_from<H: Host>(host: &H, tenant: &TenantId, from: Option<&str>, take: u32) -> Result<Vec<LogEvent>> {
    if !(1..=MAX_TAKE).contains(&take) {
        return Err(crate::error::Error::bad_request(format!("take must be from 1 to {MAX_TAKE}")));
    }
    if let Some(id) = from {
        let found = host
            .db()
            .query(
                "SELECT 1 AS ok FROM audit_events WHERE tenant_id = ?1 AND id = ?2",
                &[tenant.as_str().into(), id.into()],
            )
            .await?;
        if found.is_empty() {
            return Err(crate::error::Error::bad_request(
                "from names no retained event of this tenant; start again without it",
            ));
        }
    }
    let (sql, params) = checkpoint_query(tenant, from, take);
    let rows = host.db().query(&sql, &params).await?;
    rows.iter().map(LogEvent::from_row).collect()
}

/// Stored events of a tenant, newest first.
pub async fn list<H: Host>(host: &H, tenant: &TenantId, filter: &ListFilter, limit: u32) -> Result<Vec<LogEvent>> {
    filter.validate()?;
    let (sql, params) = list_query(tenant, filter, limit);
    let rows = host.db().query(&sql, &params).await?;
    rows.iter().map(LogEvent::from_row).collect()
}
