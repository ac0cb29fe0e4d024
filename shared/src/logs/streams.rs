//! Log streams: a tenant's destinations for its audit events, with their
//! filters, state and delivery status. The sink's secret fields are sealed
//! under the tenant's data key (bound to tenant and stream as associated
//! data) and only ever shown masked.

use serde::{Deserialize, Serialize};

use super::filter::Filter;
use super::record::iso_date;
use super::sinks::{Egress, Sink};
use crate::error::{Error, Result};
use crate::host::{Db, Host, HostExt, Row, Statement};
use crate::types::{LogStreamId, TenantId};

/// Auth0 suspends a stream that keeps failing; so do we, after a day by
/// default.
pub const DEFAULT_SUSPEND_AFTER_SECONDS: i64 = 86_400;

/// A new stream: its name, sink (`type` and `sink`), filters, and how long
/// it may keep failing before it is suspended.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Deserialize)]
pub struct StreamSpec {
    pub name: String,
    #[serde(flatten)]
    pub sink: Sink,
    #[serde(default)]
    pub filters: Filter,
    /// Seconds of continuous failure before the stream is suspended
    /// (at least 60; a day by default).
    #[serde(default)]
    pub suspend_after_seconds: Option<i64>,
}

/// A change to a stream. `sink` holds only the settings to change; secret
/// fields left out keep their value.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamUpdate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub sink: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    pub filters: Option<Filter>,
    #[serde(default)]
    pub suspend_after_seconds: Option<i64>,
}

/// How a stream is doing.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct StreamStatus {
    /// `active`, `paused` or `suspended`.
    pub state: String,
    pub last_success_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// Since when every attempt has failed.
    pub failing_since: Option<String>,
    pub events_delivered: i64,
    /// Events in failed delivery attempts (an event retried twice counts twice).
    pub events_failed: i64,
    pub events_pending: i64,
    pub dead_letters: i64,
    /// Milliseconds since the oldest event still waiting happened (0 when
    /// nothing waits).
    pub lag_ms: i64,
}

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct LogStream {
    pub id: LogStreamId,
    pub name: String,
    /// `http`, `webhook`, `datadog`, `splunk` or `s3`.
    #[serde(rename = "type")]
    pub sink_type: String,
    /// The sink's settings, secret fields masked.
    pub sink: serde_json::Value,
    pub filters: Filter,
    pub suspend_after_seconds: i64,
    pub status: StreamStatus,
    pub created_at: String,
    pub updated_at: String,
}

/// The associated data that binds a stream's sealed secrets to it.
fn secrets_aad(tenant: &TenantId, id: &str) -> Vec<u8> {
    format!("log_stream:{tenant}:{id}").into_bytes()
}

/// `••••` and the last four characters of a long secret, so an operator can
/// tell two keys apart without the API ever returning one.
pub fn mask(secret: &str) -> String {
    let n = secret.chars().count();
    if n >= 16 {
        format!("****{}", secret.chars().skip(n - 4).collect::<String>())
    } else {
        "****".into()
    }
}

fn mask_value(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::String(s) => mask(s).into(),
        serde_json::Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), mask_value(v))).collect(),
        _ => "****".into(),
    }
}

/// Splits a sink into its plain settings and its secret fields.
fn split(
    sink: &Sink,
) -> Result<(serde_json::Map<String, serde_json::Value>, serde_json::Map<String, serde_json::Value>)> {
    let v = serde_json::to_value(sink).map_err(|e| Error::server(e.to_string()))?;
    let mut plain = v["sink"].as_object().cloned().unwrap_or_default();
    let mut secret = serde_json::Map::new();
    for f in Sink::secret_fields(sink.type_name()) {
        if let Some(x) = plain.remove(*f) {
            if !x.is_null() {
                // The stored settings keep the masked form to show.
                plain.insert(f.to_string(), mask_value(&x));
                secret.insert(f.to_string(), x);
            }
        }
    }
    Ok((plain, secret))
}

fn sink_from(type_name: &str, settings: serde_json::Map<String, serde_json::Value>) -> Result<Sink> {
    serde_json::from_value(serde_json::json!({ "type": type_name, "sink": settings }))
        .map_err(|e| Error::bad_request(format!("sink: {e}")))
}

fn check_common(name: &str, suspend_after: i64) -> Result<()> {
    if name.trim().is_empty() || name.len() > 100 {
        return Err(Error::bad_request("name must be 1 to 100 characters"));
    }
    if !(60..=30 * 86_400).contains(&suspend_after) {
        return Err(Error::bad_request("suspend_after_seconds must be between 60 and 2592000"));
    }
    Ok(())
}

/// What a created stream's response shows once: a webhook secret Tessera
/// generated (the caller has no other way to learn it).
pub struct Created {
    pub stream: LogStream,
    pub generated_secret: Option<String>,
}

pub async fn create<H: Host>(host: &H, tenant: &TenantId, spec: StreamSpec) -> Result<Created> {
    let mut sink = spec.sink;
    let mut generated_secret = None;
    if let Sink::Webhook(w) = &mut sink {
        if w.secret.as_deref().unwrap_or("").is_empty() {
            let s = format!("whsec_{}", crate::crypto::b64url(&host.random_bytes::<32>()));
            w.secret = Some(s.clone());
            generated_secret = Some(s);
        }
    }
    sink.validate(&Egress::of(host))?;
    spec.filters.validate()?;
    let suspend_after = spec.suspend_after_seconds.unwrap_or(DEFAULT_SUSPEND_AFTER_SECONDS);
    check_common(&spec.name, suspend_after)?;
    let id = LogStreamId::generate(host);
    let (plain, secret) = split(&sink)?;
    let sealed = seal_secrets(host, tenant, id.as_str(), &secret).await?;
    let now = host.now();
    host.db()
        .execute(
            "INSERT INTO log_streams (id, tenant_id, name, sink_type, sink, sink_secrets, filters, suspend_after, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
            &[
                id.as_str().into(),
                tenant.as_str().into(),
                spec.name.trim().into(),
                sink.type_name().into(),
                serde_json::Value::Object(plain).to_string().into(),
                sealed.into(),
                serde_json::to_string(&spec.filters).unwrap_or_default().into(),
                suspend_after.into(),
                now.into(),
            ],
        )
        .await?;
    let stream = get(host, tenant, id.as_str()).await?.ok_or_else(|| Error::server("created stream vanished"))?;
    Ok(Created { stream, generated_secret })
}

async fn seal_secrets<H: Host>(
    host: &H,
    tenant: &TenantId,
    id: &str,
    secret: &serde_json::Map<String, serde_json::Value>,
) -> Result<String> {
    let dek = crate::keys::data_key(host, tenant).await?;
    let plaintext = serde_json::Value::Object(secret.clone()).to_string();
    Ok(dek.seal(host.random_bytes::<12>(), plaintext.as_bytes(), &secrets_aad(tenant, id)))
}

async fn open_secrets<H: Host>(
    host: &H,
    tenant: &TenantId,
    id: &str,
    sealed: &str,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    let dek = crate::keys::data_key(host, tenant).await?;
    let bytes = dek
        .open(sealed, &secrets_aad(tenant, id))
        .map_err(|e| Error::server(format!("opening log stream {id}'s secrets: {e}")))?;
    serde_json::from_slice(bytes.expose()).map_err(|e| Error::server(format!("log stream {id}'s secrets: {e}")))
}

const SELECT: &str = "SELECT s.id, s.tenant_id, s.name, s.sink_type, s.sink, s.filters, s.state, s.suspend_after,
    s.failing_since, s.last_success_at, s.last_error, s.last_error_at, s.delivered_count, s.failed_count,
    s.created_at, s.updated_at,
    (SELECT COUNT(*) FROM log_stream_pending p WHERE p.stream_id = s.id) AS pending,
    (SELECT MIN(created_at) FROM log_stream_pending p WHERE p.stream_id = s.id) AS oldest,
    (SELECT COUNT(*) FROM log_stream_dead_letters d WHERE d.stream_id = s.id) AS dead
    FROM log_streams s";

fn from_row(r: &Row, now: i64) -> Result<LogStream> {
    let sink_type = r.text("sink_type")?;
    // Secret fields are stored here masked; the ciphertext is not opened
    // for a read.
    let sink: serde_json::Value = serde_json::from_str(&r.text("sink")?).unwrap_or_default();
    let ts = |c: &str| -> Result<Option<String>> { Ok(r.opt_int(c)?.map(iso_date)) };
    Ok(LogStream {
        id: LogStreamId(r.text("id")?),
        name: r.text("name")?,
        sink_type,
        sink,
        filters: serde_json::from_str(&r.text("filters")?).unwrap_or_default(),
        suspend_after_seconds: r.int("suspend_after")?,
        status: StreamStatus {
            state: r.text("state")?,
            last_success_at: ts("last_success_at")?,
            last_error: r.opt_text("last_error")?,
            last_error_at: ts("last_error_at")?,
            failing_since: ts("failing_since")?,
            events_delivered: r.int("delivered_count")?,
            events_failed: r.int("failed_count")?,
            events_pending: r.int("pending")?,
            dead_letters: r.int("dead")?,
            lag_ms: r.opt_int("oldest")?.map_or(0, |o| (now - o).max(0)),
        },
        created_at: iso_date(r.int("created_at")?),
        updated_at: iso_date(r.int("updated_at")?),
    })
}

pub async fn list<H: Host>(host: &H, tenant: &TenantId, after: Option<&str>, limit: u32) -> Result<Vec<LogStream>> {
    let rows = host
        .db()
        .query(
            &format!("{SELECT} WHERE s.tenant_id = ?1 AND s.id > ?2 ORDER BY s.id LIMIT ?3"),
            &[tenant.as_str().into(), after.unwrap_or("").into(), (limit as i64).into()],
        )
        .await?;
    let now = host.now();
    rows.iter().map(|r| from_row(r, now)).collect()
}

pub async fn get<H: Host>(host: &H, tenant: &TenantId, id: &str) -> Result<Option<LogStream>> {
    let rows = host
        .db()
        .query(&format!("{SELECT} WHERE s.tenant_id = ?1 AND s.id = ?2"), &[tenant.as_str().into(), id.into()])
        .await?;
    let now = host.now();
    rows.first().map(|r| from_row(r, now)).transpose()
}

/// A stream's sink with its secrets, for delivery.
pub async fn load_sink<H: Host>(host: &H, tenant: &TenantId, id: &str) -> Result<Option<Sink>> {
    let rows = host
        .db()
        .query(
            "SELECT sink_type, sink, sink_secrets FROM log_streams WHERE tenant_id = ?1 AND id = ?2",
            &[tenant.as_str().into(), id.into()],
        )
        .await?;
    let Some(r) = rows.first() else { return Ok(None) };
    let mut settings: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&r.text("sink")?).map_err(|e| Error::server(format!("stored sink: {e}")))?;
    settings.extend(open_secrets(host, tenant, id, &r.text("sink_secrets")?).await?);
    sink_from(&r.text("sink_type")?, settings).map(Some).map_err(|e| Error::server(format!("stored sink: {e:?}")))
}

pub async fn update<H: Host>(host: &H, tenant: &TenantId, id: &str, change: StreamUpdate) -> Result<Option<LogStream>> {
    let Some(current) = get(host, tenant, id).await? else { return Ok(None) };
    let name = change.name.unwrap_or(current.name);
    let suspend_after = change.suspend_after_seconds.unwrap_or(current.suspend_after_seconds);
    check_common(&name, suspend_after)?;
    let filters = change.filters.unwrap_or(current.filters);
    filters.validate()?;
    let mut sets = vec![Statement::new(
        "UPDATE log_streams SET name = ?3, filters = ?4, suspend_after = ?5, updated_at = ?6 WHERE tenant_id = ?1 AND id = ?2",
        vec![
            tenant.as_str().into(),
            id.into(),
            name.trim().into(),
            serde_json::to_string(&filters).unwrap_or_default().into(),
            suspend_after.into(),
            host.now().into(),
        ],
    )];
    if let Some(patch) = change.sink {
        let mut sink = load_sink(host, tenant, id).await?.ok_or_else(|| Error::not_found("no such log stream"))?;
        let mut settings = serde_json::to_value(&sink).map_err(|e| Error::server(e.to_string()))?["sink"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for (k, v) in patch {
            if v.is_null() {
                settings.remove(&k);
            } else {
                settings.insert(k, v);
            }
        }
        sink = sink_from(&current.sink_type, settings)?;
        sink.validate(&Egress::of(host))?;
        if let Sink::Webhook(w) = &sink {
            if w.secret.as_deref().unwrap_or("").is_empty() {
                return Err(Error::bad_request("a webhook stream needs its secret"));
            }
        }
        let (plain, secret) = split(&sink)?;
        sets.push(Statement::new(
            "UPDATE log_streams SET sink = ?3, sink_secrets = ?4 WHERE tenant_id = ?1 AND id = ?2",
            vec![
                tenant.as_str().into(),
                id.into(),
                serde_json::Value::Object(plain).to_string().into(),
                seal_secrets(host, tenant, id, &secret).await?.into(),
            ],
        ));
    }
    host.db().batch(sets).await?;
    get(host, tenant, id).await
}

pub async fn delete<H: Host>(host: &H, tenant: &TenantId, id: &str) -> Result<bool> {
    let n = host
        .db()
        .execute("DELETE FROM log_streams WHERE tenant_id = ?1 AND id = ?2", &[tenant.as_str().into(), id.into()])
        .await?;
    Ok(n > 0)
}

/// Pauses a stream (events keep collecting for it) or resumes a paused or
/// suspended one, which then catches up at once. Resuming an active stream
/// changes nothing: it must not cut a failing stream's backoff short or
/// keep it from being suspended.
pub async fn set_active<H: Host>(host: &H, tenant: &TenantId, id: &str, active: bool) -> Result<Option<LogStream>> {
    let now = host.now();
    let params = vec![tenant.as_str().into(), id.into(), now.into()];
    let statements = if active {
        vec![
            // First, while the state still says whether this is a resume.
            Statement::new(
                "UPDATE log_stream_pending SET next_attempt_at = ?3 WHERE tenant_id = ?1 AND stream_id = ?2
                 AND EXISTS (SELECT 1 FROM log_streams WHERE id = ?2 AND tenant_id = ?1 AND state <> 'active')",
                params.clone(),
            ),
            Statement::new(
                "UPDATE log_streams SET state = 'active', failing_since = NULL, updated_at = ?3
                 WHERE tenant_id = ?1 AND id = ?2 AND state <> 'active'",
                params,
            ),
        ]
    } else {
        vec![Statement::new(
            "UPDATE log_streams SET state = 'paused', updated_at = ?3 WHERE tenant_id = ?1 AND id = ?2",
            params,
        )]
    };
    host.db().batch(statements).await?;
    get(host, tenant, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_show_at_most_four_characters() {
        assert_eq!(mask("short"), "****");
        assert_eq!(mask("dd_api_key_0123456789abcd"), "****abcd");
        let m = mask_value(&serde_json::json!({ "X-Api-Key": "0123456789abcdefXYZW", "n": 1 }));
        assert_eq!(m, serde_json::json!({ "X-Api-Key": "****XYZW", "n": "****" }));
    }

    #[test]
    fn secrets_split_from_settings() {
        let sink: Sink = serde_json::from_value(serde_json::json!({
            "type": "splunk", "sink": { "url": "https://hec.example.com:8088", "token": "hec-token", "index": "auth" }
        }))
        .unwrap();
        let (plain, secret) = split(&sink).unwrap();
        assert!(!serde_json::Value::Object(plain.clone()).to_string().contains("hec-token"));
        assert_eq!(plain["token"], "****");
        assert_eq!(plain["index"], "auth");
        assert_eq!(secret["token"], "hec-token");
    }
}
