//! Which events a stream takes: by category (Auth0's names, matched by
//! prefix at a dot, so `auth.login` takes `auth.login.fail`), by type code,
//! and by a minimum severity.

use serde::{Deserialize, Serialize};

use super::{EventType, LogEvent};
use crate::error::{Error, Result};

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Categories to take (`auth.login.fail`, `auth.token_exchange`,
    /// `management`, ...). With `types`, an event matching either is taken;
    /// with neither, every event is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Type codes to take (`fp`, `seccft`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    /// The least severity taken: `info` (everything), `warning` or `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_severity: Option<String>,
}

/// The categories events can have, each with its parents (`auth`,
/// `auth.login`) that a filter may name.
pub fn known_categories() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in EventType::ALL {
        let c = t.stream_category();
        for (i, _) in c.match_indices('.').chain(std::iter::once((c.len(), ""))) {
            let parent = c[..i].to_string();
            if !out.contains(&parent) {
                out.push(parent);
            }
        }
    }
    out
}

/// Whether `category` is `parent` or below it (`auth.login.fail` is within
/// `auth.login` and `auth`, not within `auth.log`).
pub fn within(category: &str, parent: &str) -> bool {
    category.strip_prefix(parent).is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

fn severity_rank(s: &str) -> Option<u8> {
    match s {
        "info" => Some(0),
        "warning" => Some(1),
        "error" => Some(2),
        _ => None,
    }
}

impl Filter {
    /// Refuses names that match nothing, so a typo does not silently stop a
    /// stream from receiving events.
    pub fn validate(&self) -> Result<()> {
        let known = known_categories();
        if let Some(c) = self.categories.iter().find(|c| !known.contains(c)) {
            return Err(Error::bad_request(format!("unknown category '{c}'; known categories: {}", known.join(", "))));
        }
        if let Some(t) = self.types.iter().find(|t| EventType::from_code(t).is_none()) {
            return Err(Error::bad_request(format!("unknown event type '{t}'")));
        }
        if let Some(s) = &self.min_severity {
            if severity_rank(s).is_none() {
                return Err(Error::bad_request("min_severity must be info, warning or error"));
            }
        }
        Ok(())
    }

    pub fn matches(&self, event: &LogEvent) -> bool {
        let min = self.min_severity.as_deref().and_then(severity_rank).unwrap_or(0);
        if severity_rank(&event.severity).unwrap_or(0) < min {
            return false;
        }
        if self.categories.is_empty() && self.types.is_empty() {
            return true;
        }
        let in_category = self.categories.iter().any(|c| within(&event.category, c));
        in_category || self.types.contains(&event.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventType) -> LogEvent {
        LogEvent {
            log_id: "evt_1".into(),
            date: "2026-01-01T00:00:00.000Z".into(),
            kind: kind.code().into(),
            description: String::new(),
            category: kind.stream_category().into(),
            severity: kind.severity().into(),
            tenant_id: None,
            client_id: None,
            client_name: None,
            ip: String::new(),
            user_agent: None,
            hostname: None,
            user_id: None,
            user_name: None,
            details: serde_json::json!({}),
        }
    }

    #[test]
    fn categories_match_at_dots_types_exactly_and_severity_as_a_floor() {
        let f = |categories: &[&str], types: &[&str], min: Option<&str>| Filter {
            categories: categories.iter().map(|s| s.to_string()).collect(),
            types: types.iter().map(|s| s.to_string()).collect(),
            min_severity: min.map(str::to_string),
        };
        let fail = event(EventType::LoginWrongPassword);
        let ok = event(EventType::LoginSuccess);
        let token = event(EventType::TokenFromClientCredentials);
        assert!(Filter::default().matches(&fail) && Filter::default().matches(&token));
        assert!(f(&["auth.login"], &[], None).matches(&fail));
        assert!(f(&["auth.login"], &[], None).matches(&ok));
        assert!(!f(&["auth.login"], &[], None).matches(&token));
        assert!(f(&["auth.login.fail"], &[], None).matches(&fail));
        assert!(!f(&["auth.login.fail"], &[], None).matches(&ok));
        // "auth.log" is not a parent of "auth.login.fail".
        assert!(!f(&["auth.log"], &[], None).matches(&fail));
        assert!(f(&[], &["seccft"], None).matches(&token));
        assert!(!f(&[], &["seccft"], None).matches(&fail));
        assert!(f(&["auth.login.success"], &["seccft"], None).matches(&token));
        assert!(f(&[], &[], Some("warning")).matches(&fail));
        assert!(!f(&[], &[], Some("warning")).matches(&ok));
        assert!(!f(&["auth.login"], &[], Some("error")).matches(&fail));
    }

    #[test]
    fn unknown_names_are_refused() {
        let known = known_categories();
        for c in ["auth", "auth.login", "auth.login.fail", "management", "auth.token_exchange"] {
            assert!(known.contains(&c.to_string()), "{c}");
        }
        assert!(Filter { categories: vec!["auth.logn".into()], ..Default::default() }.validate().is_err());
        assert!(Filter { types: vec!["zz".into()], ..Default::default() }.validate().is_err());
        assert!(Filter { min_severity: Some("loud".into()), ..Default::default() }.validate().is_err());
        assert!(Filter {
            categories: vec!["auth.login".into()],
            types: vec!["fp".into()],
            min_severity: Some("info".into())
        }
        .validate()
        .is_ok());
    }
}
