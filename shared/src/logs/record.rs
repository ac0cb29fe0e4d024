//! The log event record, with Auth0's field names (`log_id`, `date`, `type`,
//! `client_id`, `user_name`, ...) so SIEM parsers written for Auth0's log
//! streams read it as it is. Streams, the management API and the admin UI
//! all show this one shape.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::host::Row;

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LogEvent {
    /// Stable id: receivers of the at-least-once stream de-duplicate on it.
    pub log_id: String,
    /// When it happened, ISO 8601 in UTC with milliseconds.
    pub date: String,
    /// Auth0-style type code (`s`, `fp`, `seccft`, `sapi`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    /// The stream-filter category (`auth.login.fail`, `management.success`, ...).
    pub category: String,
    /// `info`, `warning` or `error`.
    pub severity: String,
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub client_name: Option<String>,
    pub ip: String,
    pub user_agent: Option<String>,
    pub hostname: Option<String>,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
    pub details: serde_json::Value,
}

impl LogEvent {
    pub fn from_row(r: &Row) -> Result<Self> {
        let kind = r.text("type")?;
        let category = super::EventType::from_code(&kind).map_or("other", |t| t.stream_category()).to_string();
        Ok(LogEvent {
            log_id: r.text("id")?,
            date: iso_date(r.int("created_at")?),
            kind,
            description: r.text("description")?,
            category,
            severity: r.text("severity")?,
            tenant_id: r.opt_text("tenant_id")?,
            client_id: r.opt_text("client_id")?,
            client_name: r.opt_text("client_name")?,
            ip: r.text("client_ip")?,
            user_agent: r.opt_text("user_agent")?,
            hostname: r.opt_text("hostname")?,
            user_id: r.opt_text("user_id")?,
            user_name: r.opt_text("user_name")?,
            details: serde_json::from_str(&r.text("details")?).unwrap_or_default(),
        })
    }

    /// Milliseconds since the epoch, read back from `date`.
    pub fn date_ms(&self) -> Option<i64> {
        chrono::DateTime::parse_from_rfc3339(&self.date).ok().map(|d| d.timestamp_millis())
    }
}

/// `2026-12-02T10:15:30.123Z` from milliseconds since the epoch.
pub fn iso_date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso_8601_utc_and_read_back() {
        assert_eq!(iso_date(1_764_670_530_123), "2025-12-02T10:15:30.123Z");
        let e = LogEvent {
            log_id: "evt_1".into(),
            date: iso_date(1_764_670_530_123),
            kind: "s".into(),
            description: String::new(),
            category: "auth.login.success".into(),
            severity: "info".into(),
            tenant_id: None,
            client_id: None,
            client_name: None,
            ip: "203.0.113.1".into(),
            user_agent: None,
            hostname: None,
            user_id: None,
            user_name: None,
            details: serde_json::json!({}),
        };
        assert_eq!(e.date_ms(), Some(1_764_670_530_123));
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], "s");
        assert!(v.get("kind").is_none());
    }
}
