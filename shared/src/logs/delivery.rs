//! Delivery: events fan out to the streams whose filters take them
//! ([`ingest`]), and a worker delivers each stream's due events in batches
//! ([`deliver_due`]), holding a lease on the stream so two workers never
//! send the same batch at once, and a crashed worker's lease runs out.
//!
//! Delivery is at least once: a batch is forgotten only after the sink
//! accepted it. A failed batch is retried with exponential backoff and full
//! jitter (capped); after [`MAX_ATTEMPTS`] an event moves to the stream's
//! dead-letter store, and a stream that has failed for longer than its
//! `suspend_after` is suspended until resumed by API, as Auth0 does.
//!
//! Every host runs this same code: the Worker's queue consumer, the native
//! delivery worker draining the outbox (Spin, local), and the API's test
//! event.

use std::collections::BTreeMap;

use super::filter::Filter;
use super::sinks::{Batch, Egress, Sink};
use super::{Audit, EventContext, EventType, LogEvent};
use crate::error::Result;
use crate::host::{Db, Host, HostExt, Outbound, Statement};
use crate::types::{BatchId, DeliveryId, TenantId};

/// Attempts before an event is dead-lettered.
pub const MAX_ATTEMPTS: i64 = 8;
/// The first retry waits up to a second, doubling to at most ten minutes.
pub const BACKOFF_BASE_MS: i64 = 1_000;
pub const BACKOFF_CAP_MS: i64 = 600_000;
/// How long a worker holds a stream; longer than any one batch can take.
pub const LEASE_MS: i64 = 120_000;
/// Batches one call sends per stream before it lets the others go.
const MAX_BATCHES_PER_CALL: usize = 20;
/// JSON rows bound to one fan-out statement (D1 limits a statement's size).
const INGEST_CHUNK_BYTES: usize = 512 * 1024;

/// The retry delay after `attempts` failed attempts: full jitter over an
/// exponentially growing, capped window ("Exponential Backoff And Jitter",
/// AWS Architecture Blog), never below a quarter second.
pub fn backoff_ms(attempts: i64, random: u64) -> i64 {
    let window = BACKOFF_BASE_MS.saturating_mul(1i64 << attempts.clamp(0, 30)).min(BACKOFF_CAP_MS);
    (random % (window as u64 + 1)) as i64 + 250
}

/// The statements that queue `events` (stored event JSON) for every stream
/// of their tenants whose filter takes them. Queuing is idempotent (keyed
/// by stream and event), so a redelivered queue message or outbox row does
/// no harm.
pub async fn ingest_statements<H: Host>(host: &H, events: &[String]) -> Result<Vec<Statement>> {
    // Only the tenant first: most tenants have no stream, and their events
    // (every token's, in the Worker's queue consumer) are then never parsed
    // whole here.
    #[derive(serde::Deserialize)]
    struct TenantOf<'a> {
        #[serde(borrow)]
        tenant_id: Option<std::borrow::Cow<'a, str>>,
    }
    let tenant_of: Vec<Option<std::borrow::Cow<'_, str>>> =
        events.iter().map(|raw| serde_json::from_str::<TenantOf<'_>>(raw).ok().and_then(|e| e.tenant_id)).collect();
    let tenants: Vec<&str> = {
        let mut t: Vec<&str> = tenant_of.iter().filter_map(|t| t.as_deref()).collect();
        t.sort_unstable();
        t.dedup();
        t
    };
    if tenants.is_empty() {
        return Ok(Vec::new());
    }
    let rows = host
        .db()
        .query(
            "SELECT id, tenant_id, filters FROM log_streams WHERE tenant_id IN (SELECT value FROM json_each(?1))",
            &[serde_json::to_string(&tenants).unwrap_or_default().into()],
        )
        .await?;
    let mut streams: BTreeMap<String, Vec<(String, Filter)>> = BTreeMap::new();
    for r in &rows {
        let filter: Filter = serde_json::from_str(&r.text("filters")?).unwrap_or_default();
        streams.entry(r.text("tenant_id")?).or_default().push((r.text("id")?, filter));
    }
    let parsed: Vec<(LogEvent, &String)> = events
        .iter()
        .zip(&tenant_of)
        .filter(|(_, tenant)| tenant.as_deref().is_some_and(|t| streams.contains_key(t)))
        .filter_map(|(raw, _)| serde_json::from_str::<LogEvent>(raw).ok().map(|e| (e, raw)))
        .collect();
    let now = host.now();
    let mut statements = Vec::new();
    let mut chunk: Vec<serde_json::Value> = Vec::new();
    let mut size = 0;
    let flush = |chunk: &mut Vec<serde_json::Value>, statements: &mut Vec<Statement>| {
        if !chunk.is_empty() {
            statements.push(Statement::new(
                "INSERT OR IGNORE INTO log_stream_pending (stream_id, event_id, tenant_id, payload, created_at, attempts, next_attempt_at)
                 SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
                        json_extract(value, '$[3]'), json_extract(value, '$[4]'), 0, ?1
                 FROM json_each(?2)",
                vec![now.into(), serde_json::Value::Array(std::mem::take(chunk)).to_string().into()],
            ));
        }
    };
    for (event, raw) in &parsed {
        let Some(tenant) = event.tenant_id.as_deref() else { continue };
        let target = test_target(event);
        for (stream, filter) in streams.get(tenant).into_iter().flatten() {
            let takes = match target {
                Some(t) => t == stream,
                None => filter.matches(event),
            };
            if takes {
                let at = event.date_ms().unwrap_or(now);
                size += raw.len() + 64;
                chunk.push(serde_json::json!([stream, event.log_id, tenant, raw, at]));
                if size > INGEST_CHUNK_BYTES {
                    flush(&mut chunk, &mut statements);
                    size = 0;
                }
            }
        }
    }
    flush(&mut chunk, &mut statements);
    Ok(statements)
}

/// Queues events for their streams (the Worker's queue consumer).
pub async fn ingest<H: Host>(host: &H, events: &[String]) -> Result<()> {
    let statements = ingest_statements(host, events).await?;
    if !statements.is_empty() {
        host.db().batch(statements).await?;
    }
    Ok(())
}

/// Takes up to `limit` undelivered outbox rows (Spin, native), queues them
/// for their streams and marks them taken, in one transaction. Returns the
/// events it took (their stream JSON), for the consumer's other work (the
/// asynchronous action triggers).
pub async fn drain_outbox<H: Host>(host: &H, limit: u32) -> Result<Vec<String>> {
    let rows = host
        .db()
        .query(
            "SELECT id, payload FROM event_outbox WHERE delivered_at IS NULL ORDER BY created_at LIMIT ?1",
            &[(limit as i64).into()],
        )
        .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids = Vec::with_capacity(rows.len());
    let mut events = Vec::with_capacity(rows.len());
    for r in &rows {
        ids.push(r.text("id")?);
        events.push(r.text("payload")?);
    }
    let mut statements = ingest_statements(host, &events).await?;
    statements.push(Statement::new(
        "UPDATE event_outbox SET delivered_at = ?1 WHERE id IN (SELECT value FROM json_each(?2)) AND delivered_at IS NULL",
        vec![host.now().into(), serde_json::to_string(&ids).unwrap_or_default().into()],
    ));
    host.db().batch(statements).await?;
    Ok(events)
}

/// What a delivery run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub batches: usize,
    pub delivered: usize,
    pub failed: usize,
    pub dead_lettered: usize,
    pub suspended: usize,
    /// Streams with due events that another worker held: whoever runs this
    /// should look again soon (the Worker schedules a wake-up).
    pub busy: usize,
}

/// One batch's attempt, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub events: usize,
    pub status_code: Option<u16>,
    pub error: Option<String>,
}

/// Delivers every active stream's due events. `owner` names this worker in
/// the streams' leases.
pub async fn deliver_due<H: Host>(host: &H, owner: &str) -> Result<Report> {
    let now = host.now();
    let rows = host
        .db()
        .query(
            "SELECT s.id, s.tenant_id FROM log_streams s WHERE s.state = 'active'
               AND EXISTS (SELECT 1 FROM log_stream_pending p WHERE p.stream_id = s.id AND p.next_attempt_at <= ?1)",
            &[now.into()],
        )
        .await?;
    let mut report = Report::default();
    for r in &rows {
        let tenant = TenantId(r.text("tenant_id")?);
        let stream = r.text("id")?;
        // One stream's trouble (its secrets unreadable, say) must not hold
        // up the others.
        if let Err(e) = deliver_stream(host, &tenant, &stream, owner, &mut report).await {
            host.report_error(&format!("log stream {stream}: {}", e.internal.as_deref().unwrap_or(&e.detail)));
        }
    }
    Ok(report)
}

/// The earliest time a waiting event of an active stream is due, if any
/// (the Worker schedules its next wake-up from it).
pub async fn next_due<H: Host>(host: &H) -> Result<Option<i64>> {
    let rows = host
        .db()
        .query(
            "SELECT MIN(p.next_attempt_at) AS due FROM log_stream_pending p
             JOIN log_streams s ON s.id = p.stream_id WHERE s.state = 'active'",
            &[],
        )
        .await?;
    Ok(rows.first().and_then(|r| r.opt_int("due").ok().flatten()))
}

async fn take_lease<H: Host>(host: &H, stream: &str, owner: &str) -> Result<bool> {
    let now = host.now();
    let n = host
        .db()
        .execute(
            "UPDATE log_streams SET lease_owner = ?2, lease_until = ?3
             WHERE id = ?1 AND state = 'active' AND (lease_until IS NULL OR lease_until < ?4 OR lease_owner = ?2)",
            &[stream.into(), owner.into(), (now + LEASE_MS).into(), now.into()],
        )
        .await?;
    Ok(n == 1)
}

async fn release_lease<H: Host>(host: &H, stream: &str, owner: &str) -> Result<()> {
    host.db()
        .execute(
            "UPDATE log_streams SET lease_owner = NULL, lease_until = NULL WHERE id = ?1 AND lease_owner = ?2",
            &[stream.into(), owner.into()],
        )
        .await?;
    Ok(())
}

/// Delivers one stream's due events under a lease; returns the last
/// attempt (none when nothing was due or another worker holds the stream).
pub async fn deliver_stream<H: Host>(
    host: &H,
    tenant: &TenantId,
    stream: &str,
    owner: &str,
    report: &mut Report,
) -> Result<Option<Attempt>> {
    if !take_lease(host, stream, owner).await? {
        report.busy += 1;
        return Ok(None);
    }
    let result = deliver_leased(host, tenant, stream, owner, report).await;
    // Released even after an error, so the stream is not stuck for a lease.
    let released = release_lease(host, stream, owner).await;
    let last = result?;
    released?;
    Ok(last)
}

async fn deliver_leased<H: Host>(
    host: &H,
    tenant: &TenantId,
    stream: &str,
    owner: &str,
    report: &mut Report,
) -> Result<Option<Attempt>> {
    let Some(sink) = super::streams::load_sink(host, tenant, stream).await? else { return Ok(None) };
    let mut last = None;
    for _ in 0..MAX_BATCHES_PER_CALL {
        let now = host.now();
        let rows = host
            .db()
            .query(
                "SELECT event_id, payload, attempts FROM log_stream_pending
                 WHERE stream_id = ?1 AND next_attempt_at <= ?2 ORDER BY next_attempt_at, created_at LIMIT ?3",
                &[stream.into(), now.into(), (sink.max_batch() as i64).into()],
            )
            .await?;
        if rows.is_empty() {
            break;
        }
        let mut ids = Vec::with_capacity(rows.len());
        let mut events = Vec::with_capacity(rows.len());
        let mut attempt = 0;
        for r in &rows {
            ids.push(r.text("event_id")?);
            events.push(r.text("payload")?);
            attempt = attempt.max(r.int("attempts")? + 1);
        }
        let batch_id = BatchId::generate(host);
        let outcome = send(host, &sink, tenant, batch_id.as_str(), &events).await;
        let duration = host.now() - now;
        let ok = outcome.error.is_none();
        record(host, tenant, stream, batch_id.as_str(), attempt, &ids, &outcome, duration, report).await?;
        last = Some(outcome);
        if !ok || rows.len() < sink.max_batch() {
            break;
        }
        // Keep the lease while there is more to send.
        if !take_lease(host, stream, owner).await? {
            break;
        }
    }
    Ok(last)
}

/// Sends a batch; an error never carries a secret of the sink.
async fn send<H: Host>(host: &H, sink: &Sink, tenant: &TenantId, batch: &str, events: &[String]) -> Attempt {
    let b = Batch { id: batch, tenant_id: tenant.as_str(), events, now_ms: host.now() };
    let requests = match sink.requests(&b) {
        Ok(r) => r,
        Err(e) => {
            return Attempt {
                events: events.len(),
                status_code: None,
                error: Some(format!("formatting: {}", e.detail)),
            }
        }
    };
    let secrets = secret_values(sink);
    let egress = Egress::of(host);
    let mut status = None;
    for req in requests {
        // Checked again here: LOG_SINK_HOSTS may have narrowed since the
        // stream was made, and this host may be another than the one that
        // took the settings.
        if let Err(e) = egress.check(&req.uri().to_string(), "sink") {
            return Attempt { events: events.len(), status_code: None, error: Some(redact(&e.detail, &secrets)) };
        }
        match host.outbound().send(req).await {
            Ok(resp) if resp.status().is_success() => status = Some(resp.status().as_u16()),
            Ok(resp) => {
                let snippet: String = String::from_utf8_lossy(resp.body()).chars().take(200).collect();
                let error = redact(&format!("HTTP {}: {}", resp.status().as_u16(), snippet.trim()), &secrets);
                return Attempt { events: events.len(), status_code: Some(resp.status().as_u16()), error: Some(error) };
            }
            Err(e) => {
                return Attempt { events: events.len(), status_code: None, error: Some(redact(&e.0, &secrets)) };
            }
        }
    }
    Attempt { events: events.len(), status_code: status, error: None }
}

/// The secret strings of a sink, to scrub from errors (a receiver may echo
/// a header back, an HTTP client may print a URL).
fn secret_values(sink: &Sink) -> Vec<String> {
    let v = serde_json::to_value(sink).unwrap_or_default();
    let mut out = Vec::new();
    for f in Sink::secret_fields(sink.type_name()) {
        match &v["sink"][*f] {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Object(m) => out.extend(m.values().filter_map(|x| x.as_str().map(str::to_owned))),
            _ => {}
        }
    }
    if let Some(query) = match sink {
        Sink::Http(s) => s.url.split_once('?').map(|(_, q)| q.to_string()),
        Sink::Webhook(s) => s.url.split_once('?').map(|(_, q)| q.to_string()),
        _ => None,
    } {
        out.push(query);
    }
    out.retain(|s| s.len() >= 4);
    out
}

pub fn redact(message: &str, secrets: &[String]) -> String {
    let mut m = message.to_string();
    for s in secrets {
        m = m.replace(s.as_str(), "[redacted]");
    }
    m
}

#[allow(clippy::too_many_arguments)]
async fn record<H: Host>(
    host: &H,
    tenant: &TenantId,
    stream: &str,
    batch: &str,
    attempt: i64,
    ids: &[String],
    outcome: &Attempt,
    duration: i64,
    report: &mut Report,
) -> Result<()> {
    let now = host.now();
    let ids_json = serde_json::to_string(ids).unwrap_or_default();
    let n = ids.len() as i64;
    let mut statements = vec![Statement::new(
        "INSERT INTO log_stream_deliveries (id, stream_id, tenant_id, batch_id, attempt, events, status_code, error, duration_ms, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        vec![
            DeliveryId::generate(host).as_str().into(),
            stream.into(),
            tenant.as_str().into(),
            batch.into(),
            attempt.into(),
            n.into(),
            outcome.status_code.map(i64::from).into(),
            outcome.error.clone().into(),
            duration.into(),
            now.into(),
        ],
    )];
    report.batches += 1;
    match &outcome.error {
        None => {
            report.delivered += ids.len();
            statements.push(Statement::new(
                "DELETE FROM log_stream_pending WHERE stream_id = ?1 AND event_id IN (SELECT value FROM json_each(?2))",
                vec![stream.into(), ids_json.into()],
            ));
            statements.push(Statement::new(
                "UPDATE log_streams SET last_success_at = ?2, failing_since = NULL, delivered_count = delivered_count + ?3
                 WHERE id = ?1",
                vec![stream.into(), now.into(), n.into()],
            ));
        }
        Some(error) => {
            report.failed += ids.len();
            let random = u64::from_le_bytes(host.random_bytes::<8>());
            let retry_at = now + backoff_ms(attempt, random);
            statements.push(Statement::new(
                "UPDATE log_stream_pending SET attempts = attempts + 1, next_attempt_at = ?3, last_error = ?4
                 WHERE stream_id = ?1 AND event_id IN (SELECT value FROM json_each(?2))",
                vec![stream.into(), ids_json.into(), retry_at.into(), error.clone().into()],
            ));
            // Events out of attempts move to the dead-letter store.
            statements.push(Statement::new(
                "INSERT OR REPLACE INTO log_stream_dead_letters (stream_id, event_id, tenant_id, payload, created_at, attempts, last_error, dead_at)
                 SELECT stream_id, event_id, tenant_id, payload, created_at, attempts, COALESCE(last_error, ''), ?3
                 FROM log_stream_pending WHERE stream_id = ?1 AND attempts >= ?2",
                vec![stream.into(), MAX_ATTEMPTS.into(), now.into()],
            ));
            statements.push(Statement::new(
                "DELETE FROM log_stream_pending WHERE stream_id = ?1 AND attempts >= ?2",
                vec![stream.into(), MAX_ATTEMPTS.into()],
            ));
            statements.push(Statement::new(
                "UPDATE log_streams SET failed_count = failed_count + ?2, last_error = ?3, last_error_at = ?4,
                   failing_since = COALESCE(failing_since, ?4),
                   state = CASE WHEN state = 'active' AND ?4 - COALESCE(failing_since, ?4) >= suspend_after * 1000
                                THEN 'suspended' ELSE state END
                 WHERE id = ?1",
                vec![stream.into(), n.into(), error.clone().into(), now.into()],
            ));
        }
    }
    let counts = host.db().batch(statements).await?;
    if outcome.error.is_some() {
        report.dead_lettered += counts.get(2).copied().unwrap_or(0) as usize;
        let state = host
            .db()
            .query("SELECT state FROM log_streams WHERE id = ?1", &[stream.into()])
            .await?
            .first()
            .map(|r| r.text("state"))
            .transpose()?;
        if state.as_deref() == Some("suspended") {
            report.suspended += 1;
            super::record(
                host,
                Audit {
                    tenant: Some(tenant),
                    kind: EventType::LogStreamSuspended,
                    description: "log stream suspended after failing continuously".into(),
                    user: None,
                    client_ip: "",
                    details: serde_json::json!({ "stream_id": stream, "last_error": outcome.error }),
                    context: EventContext::default(),
                },
            )
            .await?;
        }
    }
    Ok(())
}

/// Sends a test event to one stream: published like any event (so it takes
/// the real path through the queue or outbox), and routed to that stream
/// alone, whatever its filter. Returns the event's id.
pub async fn send_test<H: Host>(host: &H, tenant: &TenantId, stream: &str) -> String {
    let prepared = super::prepare(
        host,
        Audit {
            tenant: Some(tenant),
            kind: EventType::TestEvent,
            description: "test event sent to a log stream".into(),
            user: None,
            client_ip: "",
            details: serde_json::json!({ "stream_id": stream }),
            context: EventContext::default(),
        },
    );
    super::publish(host, &prepared.json).await;
    prepared.id.0
}

/// The stream a test event is for, if it is one.
fn test_target(event: &LogEvent) -> Option<&str> {
    (event.kind == EventType::TestEvent.code()).then(|| event.details["stream_id"].as_str().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        assert!((250..=1_250).contains(&backoff_ms(0, u64::MAX)));
        assert_eq!(backoff_ms(3, 0), 250);
        assert!(backoff_ms(3, 7_999) <= 8_250);
        assert!(backoff_ms(40, u64::MAX) <= BACKOFF_CAP_MS + 250);
        let a = backoff_ms(5, 12_345);
        let b = backoff_ms(5, 23_456);
        assert_ne!(a, b);
    }

    #[test]
    fn secrets_are_scrubbed_from_errors() {
        let m = redact("HTTP 401: bad token hec-0123 for x", &["hec-0123".to_string()]);
        assert_eq!(m, "HTTP 401: bad token [redacted] for x");
    }
}
