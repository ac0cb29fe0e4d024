//! Actions as the management API sees them: the draft, deployed versions,
//! secrets, the ordered bindings of each trigger and its failure mode, and
//! execution records. Every query names the tenant.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::protocol::{LogLine, Runtime, MAX_COMPONENT_BYTES, MAX_SOURCE_BYTES};
use super::Trigger;
use crate::crypto::{hex, sha256};
use crate::error::{Error, Result};
use crate::host::{Db, DbError, DbErrorKind, Host, HostExt, Row, Statement};
use crate::logs::record::iso_date;
use crate::types::{ActionId, TenantId};

pub const MAX_ACTIONS_PER_TRIGGER: usize = 10;
pub const MAX_SECRETS: usize = 20;
pub const MAX_SECRET_BYTES: usize = 4096;
/// Execution records are kept this long (maintenance deletes older ones).
pub const EXECUTION_RETENTION_DAYS: i64 = 30;

/// A new action. `code` is JavaScript (`runtime: js`, the default) or a
/// component of the `tessera:actions/action` world in base64 (`wasm`).
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    pub name: String,
    pub trigger: Trigger,
    #[serde(default)]
    pub runtime: Option<Runtime>,
    pub code: String,
    /// Handed to runs as `event.secrets`; write-only.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
}

/// A change to an action's draft. A secret set to `null` is removed; one left
/// out keeps its value.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionUpdate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub secrets: Option<BTreeMap<String, Option<String>>>,
}

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    pub id: ActionId,
    pub name: String,
    pub trigger: Trigger,
    pub runtime: Runtime,
    /// The draft's code (a component's is base64).
    pub code: String,
    /// Hex SHA-256 of the draft's code.
    pub code_hash: String,
    /// The version bound triggers run; none until the first deploy.
    pub deployed_version: Option<i64>,
    /// Whether the draft differs from the deployed version.
    pub draft_changed: bool,
    /// The names of its secrets (their values are never returned).
    pub secrets: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Version {
    pub number: i64,
    pub runtime: Runtime,
    pub code_hash: String,
    /// Whether bound triggers run this version now.
    pub deployed: bool,
    pub created_at: String,
}

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureMode {
    /// The flow goes on without the failed action's decisions.
    Open,
    /// The flow is refused.
    Closed,
}

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Binding {
    pub action_id: ActionId,
    pub name: String,
    pub enabled: bool,
    /// The version that runs (the action's deployed one).
    pub version: Option<i64>,
}

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct TriggerSettings {
    pub trigger: Trigger,
    pub failure_mode: FailureMode,
    /// Run in this order.
    pub bindings: Vec<Binding>,
}

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingSpec {
    pub action_id: String,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

/// A trigger's new settings: `bindings` replaces the ordered list.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerUpdate {
    #[serde(default)]
    pub failure_mode: Option<FailureMode>,
    #[serde(default)]
    pub bindings: Option<Vec<BindingSpec>>,
}

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Execution {
    pub id: String,
    pub action_id: String,
    pub version: i64,
    pub trigger: String,
    /// `success`, `denied` or `failed`.
    pub outcome: String,
    pub duration_ms: f64,
    pub logs: Vec<LogLine>,
    pub error: Option<String>,
    pub created_at: String,
}

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.chars().count() > 100 {
        return Err(Error::bad_request("name must be 1 to 100 characters"));
    }
    Ok(())
}

/// Checks code for its runtime; returns its content hash.
pub fn check_code(runtime: Runtime, code: &str) -> Result<String> {
    match runtime {
        Runtime::Js => {
            if code.trim().is_empty() {
                return Err(Error::bad_request("code is empty"));
            }
            if code.len() > MAX_SOURCE_BYTES {
                return Err(Error::bad_request(format!("code may be at most {MAX_SOURCE_BYTES} bytes")));
            }
            Ok(hex(&sha256(code.as_bytes())))
        }
        Runtime::Wasm => {
            let bytes = STANDARD
                .decode(code.trim())
                .map_err(|_| Error::bad_request("a wasm action's code must be its component in base64"))?;
            if bytes.len() > MAX_COMPONENT_BYTES {
                return Err(Error::bad_request(format!("a component may be at most {MAX_COMPONENT_BYTES} bytes")));
            }
            // The component-model preamble: magic, then layer 1 (a core
            // module is layer 0 and is refused here, not at run time).
            if bytes.len() < 8 || &bytes[..4] != b"\0asm" || bytes[6..8] != [1, 0] {
                return Err(Error::bad_request(
                    "code is not a WebAssembly component (build one for the tessera:actions/action world)",
                ));
            }
            Ok(hex(&sha256(&bytes)))
        }
    }
}

fn check_secret(name: &str, value: Option<&str>) -> Result<()> {
    let ok_name = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    if !ok_name {
        return Err(Error::bad_request(format!(
            "secret name {name:?} must be 1 to 64 letters, digits or underscores, not starting with a digit"
        )));
    }
    if value.is_some_and(|v| v.len() > MAX_SECRET_BYTES) {
        return Err(Error::bad_request(format!("secret {name} may be at most {MAX_SECRET_BYTES} bytes")));
    }
    Ok(())
}

/// The associated data binding a sealed secret to its tenant, action and name.
fn secret_aad(tenant: &TenantId, action: &str, name: &str) -> Vec<u8> {
    format!("tessera:action-secret:{tenant}:{action}:{name}").into_bytes()
}

async fn secret_statements<H: Host>(
    host: &H,
    tenant: &TenantId,
    action: &str,
    secrets: &BTreeMap<String, Option<String>>,
) -> Result<Vec<Statement>> {
    let mut out = Vec::new();
    if secrets.is_empty() {
        return Ok(out);
    }
    let dek = crate::keys::data_key(host, tenant).await?;
    let now = host.now();
    for (name, value) in secrets {
        check_secret(name, value.as_deref())?;
        match value {
            Some(v) => out.push(Statement::new(
                "INSERT INTO action_secrets (action_id, tenant_id, name, sealed, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (action_id, name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at",
                vec![
                    action.into(),
                    tenant.as_str().into(),
                    name.as_str().into(),
                    dek.seal(host.random_bytes::<12>(), v.as_bytes(), &secret_aad(tenant, action, name)).into(),
                    now.into(),
                ],
            )),
            None => out.push(Statement::new(
                "DELETE FROM action_secrets WHERE tenant_id = ?1 AND action_id = ?2 AND name = ?3",
                vec![tenant.as_str().into(), action.into(), name.as_str().into()],
            )),
        }
    }
    Ok(out)
}

/// An action's secrets, opened, for a run.
pub async fn open_secrets<H: Host>(host: &H, tenant: &TenantId, action: &str) -> Result<BTreeMap<String, String>> {
    let rows = host
        .db()
        .query(
            "SELECT name, sealed FROM action_secrets WHERE tenant_id = ?1 AND action_id = ?2",
            &[tenant.as_str().into(), action.into()],
        )
        .await?;
    let mut out = BTreeMap::new();
    if rows.is_empty() {
        return Ok(out);
    }
    let dek = crate::keys::data_key(host, tenant).await?;
    for r in &rows {
        let name = r.text("name")?;
        let value = dek
            .open(&r.text("sealed")?, &secret_aad(tenant, action, &name))
            .map_err(|e| Error::server(format!("opening action {action}'s secret {name}: {e}")))?;
        out.insert(name, String::from_utf8_lossy(value.expose()).into_owned());
    }
    Ok(out)
}

fn conflict_on_name(e: DbError) -> Error {
    match e.kind {
        DbErrorKind::Unique => Error::conflict("an action with that name exists"),
        _ => e.into(),
    }
}

pub async fn create<H: Host>(host: &H, tenant: &TenantId, spec: ActionSpec) -> Result<Action> {
    check_name(&spec.name)?;
    let runtime = spec.runtime.unwrap_or(Runtime::Js);
    let hash = check_code(runtime, &spec.code)?;
    if spec.secrets.len() > MAX_SECRETS {
        return Err(Error::bad_request(format!("an action may have at most {MAX_SECRETS} secrets")));
    }
    let id = ActionId::generate(host);
    let now = host.now();
    let mut statements = vec![Statement::new(
        "INSERT INTO actions (id, tenant_id, name, trigger, runtime, code, code_hash, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        vec![
            id.as_str().into(),
            tenant.as_str().into(),
            spec.name.trim().into(),
            spec.trigger.as_str().into(),
            runtime.as_str().into(),
            spec.code.trim().into(),
            hash.into(),
            now.into(),
        ],
    )];
    let secrets = spec.secrets.into_iter().map(|(k, v)| (k, Some(v))).collect();
    statements.extend(secret_statements(host, tenant, id.as_str(), &secrets).await?);
    host.db().batch(statements).await.map_err(conflict_on_name)?;
    get(host, tenant, id.as_str()).await?.ok_or_else(|| Error::server("created action vanished"))
}

const SELECT: &str = "SELECT a.id, a.name, a.trigger, a.runtime, a.code, a.code_hash, a.deployed_version,
    a.created_at, a.updated_at,
    (SELECT v.code_hash FROM action_versions v WHERE v.action_id = a.id AND v.number = a.deployed_version) AS deployed_hash,
    (SELECT group_concat(s.name, ' ') FROM action_secrets s WHERE s.action_id = a.id) AS secret_names
    FROM actions a";

fn from_row(r: &Row) -> Result<Action> {
    let trigger = r.text("trigger")?;
    let runtime = r.text("runtime")?;
    let code_hash = r.text("code_hash")?;
    let mut secrets: Vec<String> = r
        .opt_text("secret_names")?
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    secrets.sort();
    Ok(Action {
        id: ActionId(r.text("id")?),
        name: r.text("name")?,
        trigger: Trigger::parse(&trigger).ok_or_else(|| Error::server(format!("stored trigger {trigger}")))?,
        runtime: Runtime::parse(&runtime).ok_or_else(|| Error::server(format!("stored runtime {runtime}")))?,
        code: r.text("code")?,
        draft_changed: r.opt_text("deployed_hash")?.is_none_or(|h| h != code_hash),
        code_hash,
        deployed_version: r.opt_int("deployed_version")?,
        secrets,
        created_at: iso_date(r.int("created_at")?),
        updated_at: iso_date(r.int("updated_at")?),
    })
}

pub async fn list<H: Host>(host: &H, tenant: &TenantId, after: Option<&str>, limit: u32) -> Result<Vec<Action>> {
    let rows = host
        .db()
        .query(
            &format!("{SELECT} WHERE a.tenant_id = ?1 AND a.id > ?2 ORDER BY a.id LIMIT ?3"),
            &[tenant.as_str().into(), after.unwrap_or("").into(), (limit as i64).into()],
        )
        .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get<H: Host>(host: &H, tenant: &TenantId, id: &str) -> Result<Option<Action>> {
    let rows = host
        .db()
        .query(&format!("{SELECT} WHERE a.tenant_id = ?1 AND a.id = ?2"), &[tenant.as_str().into(), id.into()])
        .await?;
    rows.first().map(from_row).transpose()
}

pub async fn update<H: Host>(host: &H, tenant: &TenantId, id: &str, change: ActionUpdate) -> Result<Option<Action>> {
    let Some(current) = get(host, tenant, id).await? else { return Ok(None) };
    let name = change.name.unwrap_or(current.name);
    check_name(&name)?;
    let (code, hash) = match change.code {
        Some(code) => {
            let hash = check_code(current.runtime, &code)?;
            (code.trim().to_owned(), hash)
        }
        None => (current.code, current.code_hash),
    };
    let secrets = change.secrets.unwrap_or_default();
    let mut names: std::collections::BTreeSet<String> = current.secrets.into_iter().collect();
    for (k, v) in &secrets {
        if v.is_some() {
            names.insert(k.clone());
        } else {
            names.remove(k);
        }
    }
    if names.len() > MAX_SECRETS {
        return Err(Error::bad_request(format!("an action may have at most {MAX_SECRETS} secrets")));
    }
    let mut statements = vec![Statement::new(
        "UPDATE actions SET name = ?3, code = ?4, code_hash = ?5, updated_at = ?6 WHERE tenant_id = ?1 AND id = ?2",
        vec![tenant.as_str().into(), id.into(), name.trim().into(), code.into(), hash.into(), host.now().into()],
    )];
    statements.extend(secret_statements(host, tenant, id, &secrets).await?);
    host.db().batch(statements).await.map_err(conflict_on_name)?;
    get(host, tenant, id).await
}

/// Deletes an action with its versions, secrets and bindings (its execution
/// records stay until they age out).
pub async fn delete<H: Host>(host: &H, tenant: &TenantId, id: &str) -> Result<bool> {
    let p = || vec![tenant.as_str().into(), id.into()];
    let n = host
        .db()
        .batch(vec![
            Statement::new("DELETE FROM action_bindings WHERE tenant_id = ?1 AND action_id = ?2", p()),
            Statement::new("DELETE FROM action_secrets WHERE tenant_id = ?1 AND action_id = ?2", p()),
            Statement::new("DELETE FROM action_versions WHERE tenant_id = ?1 AND action_id = ?2", p()),
            Statement::new("DELETE FROM actions WHERE tenant_id = ?1 AND id = ?2", p()),
        ])
        .await?;
    forget_unbound(tenant);
    Ok(n.last().copied().unwrap_or(0) > 0)
}

/// Makes the draft a new numbered version and switches bound triggers to it
/// in the same batch.
pub async fn deploy<H: Host>(host: &H, tenant: &TenantId, id: &str) -> Result<Option<Version>> {
    let p = vec![tenant.as_str().into(), id.into(), host.now().into()];
    let n = host
        .db()
        .batch(vec![
            Statement::new(
                "INSERT INTO action_versions (action_id, tenant_id, number, runtime, code, code_hash, created_at)
                 SELECT a.id, a.tenant_id,
                        COALESCE((SELECT MAX(number) FROM action_versions v WHERE v.action_id = a.id), 0) + 1,
                        a.runtime, a.code, a.code_hash, ?3
                 FROM actions a WHERE a.tenant_id = ?1 AND a.id = ?2",
                p.clone(),
            ),
            Statement::new(
                "UPDATE actions SET deployed_version = (SELECT MAX(number) FROM action_versions v WHERE v.action_id = ?2),
                 updated_at = ?3 WHERE tenant_id = ?1 AND id = ?2",
                p,
            ),
        ])
        .await?;
    if n.first().copied().unwrap_or(0) == 0 {
        return Ok(None);
    }
    Ok(versions(host, tenant, id).await?.into_iter().next())
}

/// Points bound triggers back at an earlier version.
pub async fn roll_back<H: Host>(host: &H, tenant: &TenantId, id: &str, number: i64) -> Result<Option<Version>> {
    let n = host
        .db()
        .execute(
            "UPDATE actions SET deployed_version = ?3, updated_at = ?4 WHERE tenant_id = ?1 AND id = ?2
             AND EXISTS (SELECT 1 FROM action_versions v WHERE v.action_id = ?2 AND v.tenant_id = ?1 AND v.number = ?3)",
            &[tenant.as_str().into(), id.into(), number.into(), host.now().into()],
        )
        .await?;
    if n == 0 {
        return Ok(None);
    }
    Ok(versions(host, tenant, id).await?.into_iter().find(|v| v.number == number))
}

/// Newest first.
pub async fn versions<H: Host>(host: &H, tenant: &TenantId, id: &str) -> Result<Vec<Version>> {
    let rows = host
        .db()
        .query(
            "SELECT v.number, v.runtime, v.code_hash, v.created_at, a.deployed_version
             FROM action_versions v JOIN actions a ON a.id = v.action_id AND a.tenant_id = v.tenant_id
             WHERE v.tenant_id = ?1 AND v.action_id = ?2 ORDER BY v.number DESC LIMIT 100",
            &[tenant.as_str().into(), id.into()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let number = r.int("number")?;
            Ok(Version {
                number,
                runtime: Runtime::parse(&r.text("runtime")?).unwrap_or(Runtime::Js),
                code_hash: r.text("code_hash")?,
                deployed: r.opt_int("deployed_version")? == Some(number),
                created_at: iso_date(r.int("created_at")?),
            })
        })
        .collect()
}

/// The code of one version (or of the draft, for `None`), for the test
/// endpoint.
pub struct Code {
    pub runtime: Runtime,
    pub code: String,
    pub code_hash: String,
}

pub async fn code_of<H: Host>(host: &H, tenant: &TenantId, id: &str, version: Option<i64>) -> Result<Option<Code>> {
    let rows = match version {
        None => {
            host.db()
                .query(
                    "SELECT runtime, code, code_hash FROM actions WHERE tenant_id = ?1 AND id = ?2",
                    &[tenant.as_str().into(), id.into()],
                )
                .await?
        }
        Some(n) => {
            host.db()
                .query(
                    "SELECT runtime, code, code_hash FROM action_versions WHERE tenant_id = ?1 AND action_id = ?2 AND number = ?3",
                    &[tenant.as_str().into(), id.into(), n.into()],
                )
                .await?
        }
    };
    let Some(r) = rows.first() else { return Ok(None) };
    Ok(Some(Code {
        runtime: Runtime::parse(&r.text("runtime")?).unwrap_or(Runtime::Js),
        code: r.text("code")?,
        code_hash: r.text("code_hash")?,
    }))
}

pub async fn trigger_settings<H: Host>(host: &H, tenant: &TenantId, trigger: Trigger) -> Result<TriggerSettings> {
    let rows = host
        .db()
        .query(
            "SELECT b.action_id, a.name, b.enabled, a.deployed_version FROM action_bindings b
             JOIN actions a ON a.id = b.action_id AND a.tenant_id = b.tenant_id
             WHERE b.tenant_id = ?1 AND b.trigger = ?2 ORDER BY b.position",
            &[tenant.as_str().into(), trigger.as_str().into()],
        )
        .await?;
    let bindings = rows
        .iter()
        .map(|r| {
            Ok(Binding {
                action_id: ActionId(r.text("action_id")?),
                name: r.text("name")?,
                enabled: r.bool("enabled")?,
                version: r.opt_int("deployed_version")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TriggerSettings { trigger, failure_mode: failure_mode(host, tenant, trigger).await?, bindings })
}

pub async fn failure_mode<H: Host>(host: &H, tenant: &TenantId, trigger: Trigger) -> Result<FailureMode> {
    let rows = host
        .db()
        .query(
            "SELECT failure_mode FROM action_triggers WHERE tenant_id = ?1 AND trigger = ?2",
            &[tenant.as_str().into(), trigger.as_str().into()],
        )
        .await?;
    Ok(match rows.first().map(|r| r.text("failure_mode")).transpose()?.as_deref() {
        Some("closed") => FailureMode::Closed,
        _ => FailureMode::Open,
    })
}

/// Replaces a trigger's bindings (in the order given) and/or its failure
/// mode. Only deployed actions of that trigger can be bound.
pub async fn update_trigger<H: Host>(
    host: &H,
    tenant: &TenantId,
    trigger: Trigger,
    change: TriggerUpdate,
) -> Result<TriggerSettings> {
    let mut statements = Vec::new();
    if let Some(mode) = change.failure_mode {
        statements.push(Statement::new(
            "INSERT INTO action_triggers (tenant_id, trigger, failure_mode) VALUES (?1, ?2, ?3)
             ON CONFLICT (tenant_id, trigger) DO UPDATE SET failure_mode = excluded.failure_mode",
            vec![
                tenant.as_str().into(),
                trigger.as_str().into(),
                match mode {
                    FailureMode::Open => "open",
                    FailureMode::Closed => "closed",
                }
                .into(),
            ],
        ));
    }
    if let Some(bindings) = change.bindings {
        if bindings.len() > MAX_ACTIONS_PER_TRIGGER {
            return Err(Error::bad_request(format!("a trigger may run at most {MAX_ACTIONS_PER_TRIGGER} actions")));
        }
        let mut seen = std::collections::HashSet::new();
        for b in &bindings {
            if !seen.insert(b.action_id.as_str()) {
                return Err(Error::bad_request(format!("action {} is bound twice", b.action_id)));
            }
            let a = get(host, tenant, &b.action_id)
                .await?
                .ok_or_else(|| Error::bad_request(format!("no such action {}", b.action_id)))?;
            if a.trigger != trigger {
                return Err(Error::bad_request(format!("action {} is a {} action, not {trigger}", a.id, a.trigger)));
            }
            if a.deployed_version.is_none() {
                return Err(Error::bad_request(format!("action {} has never been deployed", a.id)));
            }
        }
        statements.push(Statement::new(
            "DELETE FROM action_bindings WHERE tenant_id = ?1 AND trigger = ?2",
            vec![tenant.as_str().into(), trigger.as_str().into()],
        ));
        for (i, b) in bindings.iter().enumerate() {
            statements.push(Statement::new(
                "INSERT INTO action_bindings (tenant_id, trigger, action_id, position, enabled) VALUES (?1, ?2, ?3, ?4, ?5)",
                vec![
                    tenant.as_str().into(),
                    trigger.as_str().into(),
                    b.action_id.as_str().into(),
                    (i as i64).into(),
                    b.enabled.into(),
                ],
            ));
        }
    }
    if !statements.is_empty() {
        host.db().batch(statements).await?;
        forget_unbound(tenant);
    }
    trigger_settings(host, tenant, trigger).await
}

/// What a trigger runs now: its enabled bindings' deployed versions, in
/// order, and its failure mode. One query when nothing is bound.
pub struct BoundAction {
    pub action_id: String,
    pub name: String,
    pub version: i64,
    pub runtime: Runtime,
    pub code: String,
    pub code_hash: String,
}

/// How long an isolate trusts that a trigger has nothing bound. The token
/// endpoint and every sign-in ask, so a tenant without actions pays no query
/// for them; a binding made in another isolate runs within this window (one
/// made here at once).
const UNBOUND_CACHE_MS: i64 = 5_000;

thread_local! {
    static UNBOUND: crate::cache::TtlCache<()> = const { crate::cache::TtlCache::new(UNBOUND_CACHE_MS) };
}

fn unbound_key(tenant: &TenantId, trigger: Trigger) -> String {
    format!("{tenant}/{trigger}")
}

/// Called after any write that can change what a tenant's triggers run.
fn forget_unbound(tenant: &TenantId) {
    UNBOUND.with(|c| c.forget_prefix(&format!("{tenant}/")));
}

/// What `trigger` runs, in order; trusts a recent "nothing bound" (the flows'
/// hot path).
pub async fn bound<H: Host>(host: &H, tenant: &TenantId, trigger: Trigger) -> Result<Vec<BoundAction>> {
    if UNBOUND.with(|c| c.get(&unbound_key(tenant, trigger), host.now())).is_some() {
        return Ok(Vec::new());
    }
    bound_now(host, tenant, trigger).await
}

/// What `trigger` runs, read from the database: for work off the request
/// path, which may run in a process that did not see the binding change.
pub async fn bound_now<H: Host>(host: &H, tenant: &TenantId, trigger: Trigger) -> Result<Vec<BoundAction>> {
    let now = host.now();
    let rows = host
        .db()
        .query(
            "SELECT a.id, a.name, v.number, v.runtime, v.code, v.code_hash FROM action_bindings b
             JOIN actions a ON a.id = b.action_id AND a.tenant_id = b.tenant_id
             JOIN action_versions v ON v.action_id = a.id AND v.number = a.deployed_version
             WHERE b.tenant_id = ?1 AND b.trigger = ?2 AND b.enabled = 1 ORDER BY b.position",
            &[tenant.as_str().into(), trigger.as_str().into()],
        )
        .await?;
    if rows.is_empty() {
        UNBOUND.with(|c| c.put(unbound_key(tenant, trigger), now, ()));
    }
    rows.iter()
        .map(|r| {
            Ok(BoundAction {
                action_id: r.text("id")?,
                name: r.text("name")?,
                version: r.int("number")?,
                runtime: Runtime::parse(&r.text("runtime")?).unwrap_or(Runtime::Js),
                code: r.text("code")?,
                code_hash: r.text("code_hash")?,
            })
        })
        .collect()
}

/// An execution record to store.
pub struct NewExecution<'a> {
    pub action_id: &'a str,
    pub version: i64,
    pub trigger: Trigger,
    pub outcome: &'a str,
    pub duration_us: u64,
    pub logs: &'a [LogLine],
    pub error: Option<&'a str>,
}

pub fn execution_statement<H: Host>(host: &H, tenant: &TenantId, e: &NewExecution<'_>) -> (String, Statement) {
    let id = crate::types::ExecutionId::generate(host).0;
    let s = Statement::new(
        "INSERT INTO action_executions (id, tenant_id, action_id, version, trigger, outcome, duration_us, logs, error, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        vec![
            id.as_str().into(),
            tenant.as_str().into(),
            e.action_id.into(),
            e.version.into(),
            e.trigger.as_str().into(),
            e.outcome.into(),
            (e.duration_us as i64).into(),
            serde_json::to_string(e.logs).unwrap_or_else(|_| "[]".into()).into(),
            e.error.map(str::to_owned).into(),
            host.now().into(),
        ],
    );
    (id, s)
}

/// Newest first.
pub async fn executions<H: Host>(
    host: &H,
    tenant: &TenantId,
    action: &str,
    before: Option<&str>,
    limit: u32,
) -> Result<Vec<Execution>> {
    let rows = host
        .db()
        .query(
            "SELECT id, action_id, version, trigger, outcome, duration_us, logs, error, created_at FROM action_executions
             WHERE tenant_id = ?1 AND action_id = ?2 AND (?3 = '' OR id < ?3) ORDER BY id DESC LIMIT ?4",
            &[tenant.as_str().into(), action.into(), before.unwrap_or("").into(), (limit as i64).into()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Execution {
                id: r.text("id")?,
                action_id: r.text("action_id")?,
                version: r.int("version")?,
                trigger: r.text("trigger")?,
                outcome: r.text("outcome")?,
                duration_ms: r.int("duration_us")? as f64 / 1000.0,
                logs: serde_json::from_str(&r.text("logs")?).unwrap_or_default(),
                error: r.opt_text("error")?,
                created_at: iso_date(r.int("created_at")?),
            })
        })
        .collect()
}

/// Claims an audit event for an asynchronous trigger, so a redelivered event
/// (queues and the outbox deliver at least once) runs its actions once.
/// True when this call claimed it.
pub async fn claim_dispatch<H: Host>(host: &H, tenant: &TenantId, event_id: &str) -> Result<bool> {
    let rows = host
        .db()
        .query(
            "INSERT OR IGNORE INTO action_dispatches (event_id, tenant_id, created_at) VALUES (?1, ?2, ?3)
             RETURNING event_id",
            &[event_id.into(), tenant.as_str().into(), host.now().into()],
        )
        .await?;
    Ok(!rows.is_empty())
}

/// What maintenance prunes after [`EXECUTION_RETENTION_DAYS`], as (table,
/// key): execution records, and the dispatch claims (redeliveries come
/// within minutes; the claims are kept as long as the records).
pub const PRUNED: [(&str, &str); 2] = [("action_executions", "id"), ("action_dispatches", "event_id")];

/// Deletes rows of one of [`PRUNED`] older than the cutoff, a bounded batch
/// at a time; returns how many went.
pub async fn delete_old<H: Host>(host: &H, (table, key): (&str, &str), cutoff_ms: i64, batch: u32) -> Result<u64> {
    host.db()
        .execute(
            &format!(
                "DELETE FROM {table} WHERE {key} IN
                 (SELECT {key} FROM {table} WHERE created_at < ?1 ORDER BY created_at LIMIT ?2)"
            ),
            &[cutoff_ms.into(), (batch as i64).into()],
        )
        .await
        .map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_checked_for_its_runtime() {
        assert!(check_code(Runtime::Js, "exports.onExecutePostLogin = async () => {};").is_ok());
        assert!(check_code(Runtime::Js, "  ").is_err());
        assert!(check_code(Runtime::Js, &"x".repeat(MAX_SOURCE_BYTES + 1)).is_err());
        // A core module (layer 0) is not a component.
        let core = STANDARD.encode(b"\0asm\x01\x00\x00\x00");
        assert!(check_code(Runtime::Wasm, &core).is_err());
        let component = STANDARD.encode(b"\0asm\x0d\x00\x01\x00");
        assert!(check_code(Runtime::Wasm, &component).is_ok());
        assert!(check_code(Runtime::Wasm, "not base64!").is_err());
    }

    #[test]
    fn secret_names_are_identifiers() {
        assert!(check_secret("API_KEY", Some("v")).is_ok());
        for bad in ["", "1KEY", "A-B", "A B", &"K".repeat(65)] {
            assert!(check_secret(bad, Some("v")).is_err(), "{bad}");
        }
        assert!(check_secret("K", Some(&"v".repeat(MAX_SECRET_BYTES + 1))).is_err());
    }
}
