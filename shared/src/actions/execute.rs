//! Running a trigger's actions from inside a flow: load what is bound, call
//! the actions host with a signed request, validate every decision, record
//! each run (an execution record and an audit event), and tell the flow
//! whether to go on, and with what.
//!
//! A trigger with nothing bound costs one indexed query. When the host is
//! unreachable or a run fails, the trigger's failure mode decides: `open`
//! goes on without that action's decisions, `closed` refuses the flow.

use std::collections::BTreeMap;

use super::decision::{self, Decision, MetadataKind, Token};
use super::protocol::{ActionCode, ErrorKind, RunRequest, RunResponse, RunResult, RUN_PATH};
use super::store::{self, FailureMode, NewExecution};
use super::{signature, Trigger};
use crate::crypto::b64url;
use crate::error::Result;
use crate::host::{Db, Host, HostExt, Outbound, Secrets};
use crate::logs::{self, Audit, EventContext, EventType};
use crate::types::{TenantId, UserId};

/// The deployment's actions host (`http://127.0.0.1:8788` locally).
pub const URL_VAR: &str = "ACTIONS_URL";
/// The secret shared with the actions host.
pub const SECRET_NAME: &str = "ACTIONS_SECRET";

type Map = serde_json::Map<String, serde_json::Value>;

/// The decisions of every action that ran and succeeded, merged in order
/// (a later action's claim of the same name wins).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Applied {
    pub id_token_claims: Map,
    pub access_token_claims: Map,
    pub app_metadata: Map,
    pub user_metadata: Map,
    pub scopes: Vec<String>,
    /// `api.multifactor.enable(provider, {allowRememberBrowser})`.
    pub require_mfa: Option<(String, bool)>,
}

impl Applied {
    pub fn is_empty(&self) -> bool {
        *self == Applied::default()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Continue(Applied),
    /// An action denied: `reason` is for the logs and the client's
    /// `error_description`; `user_message` is shown to a person.
    Denied {
        action: String,
        reason: String,
        user_message: Option<String>,
        code: Option<String>,
    },
    /// A run failed (or the host was unreachable) under `closed`.
    Failed {
        message: String,
    },
}

/// Who the run is about, for the audit events.
pub struct RunContext<'a> {
    pub client_ip: &'a str,
    pub user: Option<&'a UserId>,
    pub client_id: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// One action's outcome as recorded.
struct Record {
    action_id: String,
    name: String,
    version: i64,
    outcome: &'static str,
    duration_us: u64,
    logs: Vec<super::protocol::LogLine>,
    error: Option<String>,
    decisions: Vec<Decision>,
}

/// Runs `trigger`'s bound actions against the event `event` builds (Auth0's
/// event object). It is built only when an action is bound: most tenants
/// bind none, and a `client_credentials` token would otherwise build a
/// JSON tree on every request for nothing.
pub async fn run<H: Host>(
    host: &H,
    tenant: &TenantId,
    trigger: Trigger,
    event: impl FnOnce() -> serde_json::Value,
    cx: &RunContext<'_>,
) -> Result<Verdict> {
    let bound = store::bound(host, tenant, trigger).await?;
    run_bound(host, tenant, trigger, bound, event, cx).await
}

/// Runs the given bound actions (a caller that already read them, as
/// [`store::bound_now`] off the request path); `event` is built only if
/// there are any.
pub async fn run_bound<H: Host>(
    host: &H,
    tenant: &TenantId,
    trigger: Trigger,
    bound: Vec<store::BoundAction>,
    event: impl FnOnce() -> serde_json::Value,
    cx: &RunContext<'_>,
) -> Result<Verdict> {
    if bound.is_empty() {
        return Ok(Verdict::Continue(Applied::default()));
    }
    let event = event();
    let mode = store::failure_mode(host, tenant, trigger).await?;
    let mut actions = Vec::with_capacity(bound.len());
    for b in &bound {
        actions.push(ActionCode {
            action_id: b.action_id.clone(),
            version: b.version,
            runtime: b.runtime,
            hash: b.code_hash.clone(),
            // Sent by hash first: the host usually has the compiled code
            // (a component, or a script's bytecode) and answers
            // `unknown_module` when it does not.
            code: None,
            secrets: store::open_secrets(host, tenant, &b.action_id).await?,
        });
    }
    let mut req =
        RunRequest { id: request_id(host), tenant: tenant.to_string(), trigger, now_ms: host.now(), event, actions };
    let mut response = call(host, &req).await;
    if let Ok(r) = &response {
        let missing: Vec<String> = r
            .results
            .iter()
            .filter(|x| x.error.as_ref().is_some_and(|e| e.kind == ErrorKind::UnknownModule))
            .map(|x| x.action_id.clone())
            .collect();
        if !missing.is_empty() {
            for (a, b) in req.actions.iter_mut().zip(&bound) {
                if missing.contains(&a.action_id) {
                    a.code = Some(b.code.clone());
                }
            }
            req.id = request_id(host);
            response = call(host, &req).await;
        }
    }
    let records = match response {
        Ok(r) => records_of(trigger, &bound, r),
        Err(message) => bound
            .iter()
            .map(|b| Record {
                action_id: b.action_id.clone(),
                name: b.name.clone(),
                version: b.version,
                outcome: "failed",
                duration_us: 0,
                logs: Vec::new(),
                error: Some(message.clone()),
                decisions: Vec::new(),
            })
            .collect(),
    };
    store_records(host, tenant, trigger, mode, &records, cx).await?;
    Ok(verdict(mode, records))
}

fn request_id<H: Host>(host: &H) -> String {
    format!("arq_{}", b64url(&host.random_bytes::<12>()))
}

/// One signed exchange with the host; any failure is a message for the
/// execution record (never containing the secret).
async fn call<H: Host>(host: &H, req: &RunRequest) -> std::result::Result<RunResponse, String> {
    let Some(base) = host.secrets().var(URL_VAR).filter(|u| !u.is_empty()) else {
        return Err(format!("the actions host is not configured ({URL_VAR} is not set)"));
    };
    let Some(secret) = host.secrets().secret(SECRET_NAME) else {
        return Err(format!("the actions host is not configured ({SECRET_NAME} is not set)"));
    };
    // The body carries the actions' secrets and the user's profile: the
    // signature keeps it from being altered, TLS keeps it from being read.
    if !plain_http_allowed(host, &base) {
        return Err(format!(
            "{URL_VAR} must be an https:// URL (plain HTTP only to a loopback address or with DEV_MODE)"
        ));
    }
    let body = serde_json::to_vec(req).map_err(|e| format!("encoding the run request: {e}"))?;
    let sig = signature::sign(secret.expose().as_bytes(), host.now() / 1000, &body);
    let http_req = http::Request::builder()
        .method("POST")
        .uri(format!("{}{RUN_PATH}", base.trim_end_matches('/')))
        .header("content-type", "application/json")
        .header(signature::HEADER, sig)
        .body(body)
        .map_err(|e| format!("building the run request: {e}"))?;
    let res = host.outbound().send(http_req).await.map_err(|e| format!("the actions host is unreachable: {}", e.0))?;
    if res.status() != 200 {
        let detail = serde_json::from_slice::<serde_json::Value>(res.body())
            .ok()
            .and_then(|v| v["error_description"].as_str().map(str::to_owned))
            .unwrap_or_default();
        return Err(format!("the actions host answered {}: {detail}", res.status().as_u16()));
    }
    serde_json::from_slice(res.body()).map_err(|_| "the actions host's answer is not a run response".to_owned())
}

fn plain_http_allowed<H: Host>(host: &H, url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return url.starts_with("https://");
    };
    let authority = rest.split('/').next().unwrap_or("");
    let host_name = match authority.find(']') {
        Some(end) if authority.starts_with('[') => &authority[..=end],
        _ => authority.split(':').next().unwrap_or(""),
    };
    crate::types::is_loopback(host_name) || crate::config::dev_mode(host)
}

fn records_of(trigger: Trigger, bound: &[store::BoundAction], response: RunResponse) -> Vec<Record> {
    let mut out = Vec::new();
    for r in response.results {
        let RunResult { action_id, version, decisions, logs, error, duration_us, .. } = r;
        // The host answers for what it was sent; anything else is ignored.
        let Some(b) = bound.iter().find(|b| b.action_id == action_id && b.version == version) else {
            continue;
        };
        let mut rec = Record {
            action_id,
            name: b.name.clone(),
            version,
            outcome: "success",
            duration_us,
            logs,
            error: None,
            decisions: Vec::new(),
        };
        match error {
            Some(e) => {
                rec.outcome = "failed";
                rec.error = Some(format!("{}: {}", e.kind.as_str(), e.message));
            }
            None => match decision::validate(trigger, &decisions) {
                Ok(d) => {
                    if d.iter().any(|x| matches!(x, Decision::Deny { .. })) {
                        rec.outcome = "denied";
                    }
                    rec.decisions = d;
                }
                Err(e) => {
                    rec.outcome = "failed";
                    rec.error = Some(format!("invalid decision: {e}"));
                }
            },
        }
        out.push(rec);
    }
    out
}

async fn store_records<H: Host>(
    host: &H,
    tenant: &TenantId,
    trigger: Trigger,
    mode: FailureMode,
    records: &[Record],
    cx: &RunContext<'_>,
) -> Result<()> {
    let mut statements = Vec::with_capacity(records.len() * 2);
    let mut events = Vec::with_capacity(records.len());
    for rec in records {
        let (execution_id, s) = store::execution_statement(
            host,
            tenant,
            &NewExecution {
                action_id: &rec.action_id,
                version: rec.version,
                trigger,
                outcome: rec.outcome,
                duration_us: rec.duration_us,
                logs: &rec.logs,
                error: rec.error.as_deref(),
            },
        );
        statements.push(s);
        let failed = rec.outcome == "failed";
        let prepared = logs::prepare(
            host,
            Audit {
                tenant: Some(tenant),
                kind: if failed { EventType::ActionFailed } else { EventType::ActionExecuted },
                description: format!("{trigger} action {} {}", rec.name, rec.outcome),
                user: cx.user,
                client_ip: cx.client_ip,
                details: serde_json::json!({
                    "trigger": trigger,
                    "action_id": rec.action_id,
                    "action_name": rec.name,
                    "version": rec.version,
                    "execution_id": execution_id,
                    "outcome": rec.outcome,
                    "duration_ms": rec.duration_us as f64 / 1000.0,
                    "error": rec.error,
                    "failure_mode": if failed { Some(mode) } else { None },
                }),
                context: EventContext {
                    client_id: cx.client_id.map(str::to_owned),
                    user_agent: cx.user_agent.map(str::to_owned),
                    ..Default::default()
                },
            },
        );
        let (statement, json) = prepared.into_statement();
        statements.push(statement);
        events.push(json);
    }
    host.db().batch(statements).await?;
    for e in &events {
        logs::publish(host, e).await;
    }
    Ok(())
}

fn verdict(mode: FailureMode, records: Vec<Record>) -> Verdict {
    if let Some(failed) = records.iter().find(|r| r.outcome == "failed") {
        if mode == FailureMode::Closed {
            return Verdict::Failed {
                message: format!(
                    "action {} failed: {}",
                    failed.name,
                    failed.error.as_deref().unwrap_or("unknown error")
                ),
            };
        }
    }
    let mut applied = Applied::default();
    for rec in records {
        if rec.outcome == "failed" {
            continue;
        }
        for d in rec.decisions {
            match d {
                Decision::Deny { reason, user_message, code } => {
                    return Verdict::Denied { action: rec.name, reason, user_message, code };
                }
                Decision::SetClaim { token: Token::IdToken, name, value } => {
                    applied.id_token_claims.insert(name, value);
                }
                Decision::SetClaim { token: Token::AccessToken, name, value } => {
                    applied.access_token_claims.insert(name, value);
                }
                Decision::SetMetadata { kind: MetadataKind::App, name, value } => {
                    applied.app_metadata.insert(name, value);
                }
                Decision::SetMetadata { kind: MetadataKind::User, name, value } => {
                    applied.user_metadata.insert(name, value);
                }
                Decision::AddScope { scope } => {
                    if !applied.scopes.contains(&scope) {
                        applied.scopes.push(scope);
                    }
                }
                Decision::RequireMfa { provider, allow_remember_browser } => {
                    applied.require_mfa = Some((provider, allow_remember_browser));
                }
            }
        }
    }
    Verdict::Continue(applied)
}

/// Runs one action's code against a sample event with nothing recorded and
/// nothing applied: the management API's test endpoint.
pub async fn test<H: Host>(
    host: &H,
    tenant: &TenantId,
    action_id: &str,
    version: i64,
    trigger: Trigger,
    code: &store::Code,
    event: serde_json::Value,
) -> std::result::Result<RunResult, String> {
    let secrets: BTreeMap<String, String> =
        store::open_secrets(host, tenant, action_id).await.map_err(|e| format!("secrets: {}", e.detail))?;
    let req = RunRequest {
        id: request_id(host),
        tenant: tenant.to_string(),
        trigger,
        now_ms: host.now(),
        event,
        actions: vec![ActionCode {
            action_id: action_id.to_owned(),
            version,
            runtime: code.runtime,
            hash: code.code_hash.clone(),
            code: Some(code.code.clone()),
            secrets,
        }],
    };
    let mut r = call(host, &req).await?;
    r.results.pop().ok_or_else(|| "the actions host ran nothing".to_owned())
}
