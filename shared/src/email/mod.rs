//! Outgoing email. A deployment posts to an HTTP email API through
//! `Outbound` (`EMAIL_API_URL`, `EMAIL_API_KEY`, `EMAIL_FROM`; the JSON body
//! `{from, to, subject, text}` is what Resend-style APIs take). Only with
//! `DEV_MODE=true` (local development and tests) do messages go to the dev
//! mailbox table instead, readable through the internal API; there is no
//! silent fallback to it (`crate::config`).

use crate::error::{Error, Result};
use crate::host::{Db, Host, HostExt, Outbound, Secrets};
use crate::types::{MessageId, TenantId};

pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Dev,
    Http,
}

/// The dev mailbox in dev mode, the HTTP provider everywhere else.
pub fn provider<H: Host>(host: &H) -> Provider {
    if crate::config::dev_mode(host) {
        Provider::Dev
    } else {
        Provider::Http
    }
}

pub async fn send<H: Host>(host: &H, tenant: &TenantId, email: Email) -> Result<()> {
    match provider(host) {
        Provider::Dev => {
            host.db()
                .execute(
                    "INSERT INTO dev_mailbox (id, tenant_id, to_addr, subject, body_text, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    &[
                        MessageId::generate(host).as_str().into(),
                        tenant.as_str().into(),
                        email.to.into(),
                        email.subject.into(),
                        email.text.into(),
                        host.now().into(),
                    ],
                )
                .await?;
            Ok(())
        }
        Provider::Http => send_http(host, email).await,
    }
}

async fn send_http<H: Host>(host: &H, email: Email) -> Result<()> {
    let url = host.secrets().var("EMAIL_API_URL").ok_or_else(|| Error::server("EMAIL_API_URL is not configured"))?;
    let key = host.secrets().secret("EMAIL_API_KEY").ok_or_else(|| Error::server("EMAIL_API_KEY is not configured"))?;
    let from = host.secrets().var("EMAIL_FROM").ok_or_else(|| Error::server("EMAIL_FROM is not configured"))?;
    let body = serde_json::json!({ "from": from, "to": [email.to], "subject": email.subject, "text": email.text });
    let req = http::Request::post(url)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", key.expose()))
        .body(body.to_string().into_bytes())
        .map_err(|e| Error::server(format!("email request: {e}")))?;
    let resp = host.outbound().send(req).await.map_err(|e| Error::server(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(Error::server(format!("email provider answered {}", resp.status())));
    }
    Ok(())
}

/// Messages in the dev mailbox, newest first, optionally for one address.
pub async fn dev_mailbox<H: Host>(host: &H, to: Option<&str>, limit: u32) -> Result<Vec<serde_json::Value>> {
    let to = to.map(|t| t.trim().to_lowercase());
    let rows = host
        .db()
        .query(
            "SELECT m.id, t.slug, m.to_addr, m.subject, m.body_text, m.created_at FROM dev_mailbox m
             JOIN tenants t ON t.id = m.tenant_id
             WHERE (?1 IS NULL OR m.to_addr = ?1) ORDER BY m.created_at DESC, m.rowid DESC LIMIT ?2",
            &[to.into(), crate::host::Value::Integer(limit as i64)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(serde_json::json!({
                "id": r.text("id")?,
                "tenant": r.text("slug")?,
                "to": r.text("to_addr")?,
                "subject": r.text("subject")?,
                "text": r.text("body_text")?,
                "created_at": r.int("created_at")?,
            }))
        })
        .collect()
}
